"""cmp-fhir-adapter: a FHIR R4 server and translator for Medicaid care-management programs."""

__version__ = "0.1.0"
