"""What a measure evaluation returns: per group, the population counts and (when asked) their subjects."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Population codes of http://terminology.hl7.org/CodeSystem/measure-population, in report order.
POPULATIONS = ("initial-population", "denominator", "numerator")
POPULATION_DISPLAY = {"initial-population": "Initial Population", "denominator": "Denominator",
                      "numerator": "Numerator"}


@dataclass
class GroupResult:
    """One group of a proportion measure: counts by population code, and the subjects (patient ids) of each
    population when a subject-list report asked for them.

    ``unit`` says what is counted (``member-week``, ``discharge``, ``member``): a member counted in three
    weeks is three member-weeks but one subject.
    """

    code: str
    counts: dict[str, int]
    unit: str
    subjects: dict[str, list[str]] | None = None
    description: str | None = None

    @property
    def score(self) -> float:
        denominator = self.counts.get("denominator", 0)
        return round(self.counts.get("numerator", 0) / denominator, 4) if denominator else 0.0


@dataclass
class Evaluation:
    """A measure's result for one period and scope."""

    groups: list[GroupResult] = field(default_factory=list)
