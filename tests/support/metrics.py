"""Reading a ``GET /metrics`` answer the way Prometheus does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Samples", "parse"]


class Samples(dict[tuple[str, frozenset[tuple[str, str]]], float]):
    """Every sample of an exposition, by name and labels."""

    def value(self, name: str, **labels: str) -> float | None:
        """The sample with exactly these labels; None if there is none."""
        return self.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.items() if n == name and wanted <= ls)

    def labelled(self, name: str) -> list[dict[str, str]]:
        """The label sets of ``name``'s samples."""
        return [dict(ls) for n, ls in self if n == name]


def parse(text: str) -> Samples:
    """The samples of a text exposition (raises if it is not one)."""
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples
