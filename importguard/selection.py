"""Which rules run, as ruff decides it, and selectors that name no rule as errors.

The selection is built in layers: the defaults (every rule that is not opt-in), then
the config file, then the command line. A layer with `select` replaces what the
layers before it chose; one without adds its `extend-select` and removes its `ignore`
(`extend-ignore` is the same list, as in ruff). Inside a layer a more specific
selector wins (`IG001` over `IG0` over `IG` over `ALL`), and at the same specificity
`ignore` wins over `select`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from importguard.errors import ConfigError

ALL = "ALL"


@dataclass(frozen=True)
class Selection:
    """One layer: the config file's keys, or the command line's options."""

    select: Optional[tuple[str, ...]] = None  # None: keep what the layers before chose
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()  # `ignore` and `extend-ignore`


def selected_codes(rules: Sequence[tuple[str, bool]], layers: Iterable[Selection]) -> frozenset[str]:
    """The codes that run. `rules`: (code, opt_in) of every rule."""
    codes = [code for code, _ in rules]
    chosen = {code for code, opt_in in rules if not opt_in}
    for layer in layers:
        updates: dict[str, bool] = {}
        selecting = [*(layer.select or ()), *layer.extend_select]
        for specificity in sorted({_specificity(s) for s in (*selecting, *layer.ignore)}):
            for selector in selecting:
                if _specificity(selector) == specificity:
                    updates.update((code, True) for code in codes if _matches(code, selector))
            for selector in layer.ignore:
                if _specificity(selector) == specificity:
                    updates.update((code, False) for code in codes if _matches(code, selector))
        if layer.select is not None:
            chosen = {code for code, on in updates.items() if on}
        else:
            chosen |= {code for code, on in updates.items() if on}
            chosen -= {code for code, on in updates.items() if not on}
    return frozenset(chosen)


def _specificity(selector: str) -> int:
    return 0 if selector == ALL else len(selector)


def _matches(code: str, selector: str) -> bool:
    return selector == ALL or code.startswith(selector)


def unknown_selector(selector: str, codes: Sequence[str]) -> Optional[str]:
    """None for `ALL` or a prefix of a rule code; else what is wrong, with the
    nearest valid code: "`IG0001` is not a rule code or prefix; did you mean `IG001`?"."""
    if selector == ALL or any(code.startswith(selector) for code in codes if selector):
        return None
    near = nearest(selector.upper(), [*codes, ALL])
    hint = f"did you mean `{near}`?" if near else "`importguard rule` lists the rules"
    return f"`{selector}` is not a rule code or prefix; {hint}"


def nearest(word: str, candidates: Sequence[str], cutoff: float = 0.5) -> Optional[str]:
    """The candidate most like `word` (difflib's ratio), the first of equals: for
    `IG100`, `IG001` rather than `IG900`."""
    import difflib  # only when a selector is misspelt

    scored = [(difflib.SequenceMatcher(None, word, c).ratio(), -n, c) for n, c in enumerate(candidates)]
    best = max(scored, default=None)
    return best[2] if best is not None and best[0] >= cutoff else None


def check_selectors(selectors: Iterable[str], codes: Sequence[str], where: str) -> None:
    """Raise ConfigError naming the first selector that matches no rule; `where` says
    where it was given (`--select`, `pyproject.toml:7: select`)."""
    for selector in selectors:
        problem = unknown_selector(selector, codes)
        if problem:
            raise ConfigError(f"{where}: {problem}")
