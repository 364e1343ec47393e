"""Conformance resources read from FHIR NPM packages: the package cache, the definitions, the type model."""
