"""Synthetic coding tasks: descriptions, files, sizes and the latent difficulty, vectorized with numpy.

Descriptions are rendered per template over whole arrays (numpy object arrays concatenate element-wise), so
a million tasks take seconds, not minutes. The difficulty model is documented in ``datasets/README.md`` and in
:class:`LatentModel`.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache

import numpy as np

from training.data.synthetic_templates import (
    COMPONENTS,
    DOC_FILES,
    FILLERS,
    KINDS,
    MODIFIERS,
    MODULES,
    SCOPE,
    SLOTS,
)


@dataclass(frozen=True)
class LatentModel:
    """Parameters of the latent-difficulty model and of the simulated token use (see ``datasets/README.md``).

    Difficulty of a task, on the logit scale::

        visible = base[kind] + sum(effect of each modifier present)
                  + file_weight * ln(n_files) + line_weight * ln(1 + lines / line_scale)
        hidden  ~ Normal(0, hidden_sigma)
        P(success | model) = sigmoid(ability[model] - (visible + hidden))

    Tokens of one attempt::

        turns   = 1 + Poisson(min(max_turn_rate, turn_scale * exp(turn_slope * (difficulty - ability))))
        input   = turns * min(context_share * context_window, description_chars / chars_per_token
                                                              + tokens_per_line * lines)
        output  = turns * LogNormal(ln(out_median) + out_slope * difficulty, out_sigma)
                  * (fail_output_factor if the attempt failed else 1)
    """

    hidden_sigma: float = 1.0
    file_weight: float = 0.3
    line_weight: float = 0.25
    line_scale: float = 300.0
    lines_sigma: float = 0.8
    max_files: int = 12
    # Abilities spread over price ranks when the caller gives none (a catalog other than the default one).
    ability_low: float = -0.2
    ability_high: float = 1.8
    turn_scale: float = 1.0
    turn_slope: float = 0.5
    max_turn_rate: float = 20.0
    chars_per_token: float = 4.0
    tokens_per_line: float = 10.0
    context_share: float = 0.5
    out_median: float = 350.0
    out_slope: float = 0.25
    out_sigma: float = 0.5
    fail_output_factor: float = 1.3
    mean_gap_s: float = 60.0
    start: str = "2026-01-01T00:00:00"


@dataclass
class Tasks:
    """Generated tasks as parallel arrays, one entry per task."""

    task_id: np.ndarray
    description: np.ndarray
    files: np.ndarray
    task_type: np.ndarray
    kind: np.ndarray
    n_files: np.ndarray
    lines: np.ndarray
    visible: np.ndarray
    hidden: np.ndarray
    time: np.ndarray

    @property
    def difficulty(self) -> np.ndarray:
        return self.visible + self.hidden

    def __len__(self) -> int:
        return len(self.task_id)


_TEMPLATES = [(k, t) for k, kind in enumerate(KINDS) for t in kind.templates]


def _vocab(values: tuple[str, ...] | list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _capitalize(values: np.ndarray) -> np.ndarray:
    return _vocab([v[:1].upper() + v[1:] for v in values])


def _render(template: str, slots: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Fill ``template`` for the tasks ``rows``: literal parts and slot values concatenated array-wise."""
    out = np.full(len(rows), "", dtype=object)
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is not None:
            out = out + slots[name][rows]
    return out


@cache
def template_task_type(template: str) -> str:
    """The heuristic estimator's task type for a template (fillers are type-neutral, as the tests check)."""
    from router.estimation.estimator import ComplexityEstimator

    fill = {name: values[0] for name, values in SLOTS.items()}
    wrong, right = fill["wrong_right"].split("|")
    text = template.format(
        **fill, wrong=wrong, right=right, component="the billing service",
        component_cap="The billing service", component2="the audit log", file="src/billing/service.py",
        doc_file="README.md",
        perf_op_cap=fill["perf_op"].capitalize(),
    )  # fmt: skip
    return ComplexityEstimator(recommend=lambda level: "").estimate(text).task_type.value


def generate_tasks(n_tasks: int, rng: np.random.Generator, params: LatentModel, prefix: str) -> Tasks:
    """Draw ``n_tasks`` tasks: kind, template, fillers, files and sizes, modifiers, difficulty and time."""
    n = int(n_tasks)
    weights = np.array([k.weight for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=weights / weights.sum())
    counts = np.array([len(k.templates) for k in KINDS])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    template = offsets[kind] + (rng.random(n) * counts[kind]).astype(np.int64)

    # Every draw happens for every task in a fixed order, so a seed gives the same tasks whatever they use.
    draws = {name: rng.integers(0, len(values), n) for name, values in sorted(SLOTS.items())}
    slots = {name: _vocab(SLOTS[name])[i] for name, i in draws.items() if name != "wrong_right"}
    pairs = [p.split("|") for p in SLOTS["wrong_right"]]
    slots["wrong"] = _vocab([w for w, _ in pairs])[draws["wrong_right"]]
    slots["right"] = _vocab([r for _, r in pairs])[draws["wrong_right"]]
    n_comp = len(COMPONENTS)
    comp = rng.integers(0, n_comp, n)
    comp2 = (comp + 1 + rng.integers(0, n_comp - 1, n)) % n_comp
    phrases = _vocab([c[0] for c in COMPONENTS])
    slots["component"], slots["component2"] = phrases[comp], phrases[comp2]
    slots["component_cap"] = _capitalize(phrases)[comp]
    slots["perf_op_cap"] = _capitalize(_vocab(SLOTS["perf_op"]))[rng.integers(0, len(SLOTS["perf_op"]), n)]
    doc_file = rng.integers(0, len(DOC_FILES), n)
    slots["doc_file"] = _vocab(DOC_FILES)[doc_file]
    module0 = rng.integers(0, len(MODULES), n)

    extra = np.array([k.extra_files for k in KINDS])[kind]
    n_files = np.minimum(1 + rng.poisson(extra), params.max_files)
    median = np.array([k.median_lines for k in KINDS])[kind]
    per_file = np.maximum(5, np.rint(rng.lognormal(np.log(median)[:, None], params.lines_sigma,
                                                    (n, params.max_files))))  # fmt: skip
    per_file[np.arange(params.max_files)[None, :] >= n_files[:, None]] = 0
    lines = per_file.sum(axis=1).astype(np.int64)

    visible = np.array([k.base for k in KINDS])[kind].astype(float)
    visible += params.file_weight * np.log(n_files) + params.line_weight * np.log1p(lines / params.line_scale)
    kind_names = np.array([k.name for k in KINDS])
    modifier_masks = []
    for mod in MODIFIERS:
        applies = np.isin(kind_names, mod.kinds)[kind]
        mask = applies & (rng.random(n) < mod.p)
        visible += mod.effect * mask
        modifier_masks.append(mask)
    hidden = rng.normal(0.0, params.hidden_sigma, n)
    filler = _vocab(FILLERS)[rng.integers(0, len(FILLERS), n)]
    scope = rng.integers(0, len(SCOPE), n)
    gaps = rng.exponential(params.mean_gap_s, n)

    names_doc = np.array(["{doc_file}" in t for _, t in _TEMPLATES])[template]
    is_tests = kind_names[kind] == "tests"
    files = _file_lists(comp, module0, n_files, np.where(names_doc, doc_file + 1, 0), is_tests)
    slots["file"] = _vocab([f"src/{pkg}/{mod}.py" for _, pkg in COMPONENTS for mod in MODULES])[
        comp * len(MODULES) + module0
    ]

    description = np.empty(n, dtype=object)
    task_type = np.empty(n, dtype=object)
    for t, (_, text) in enumerate(_TEMPLATES):
        rows = np.flatnonzero(template == t)
        if len(rows):
            description[rows] = _render(text, slots, rows)
            task_type[rows] = template_task_type(text)
    for mod, mask in zip(MODIFIERS, modifier_masks, strict=True):
        description[mask] = description[mask] + mod.text
    description = description + filler
    slots["n_files"] = n_files.astype(str).astype(object)
    slots["lines"] = lines.astype(str).astype(object)
    for s, text in enumerate(SCOPE):
        rows = np.flatnonzero(scope == s)
        description[rows] = description[rows] + _render(text, slots, rows)

    width = max(7, len(str(n)))
    task_id = prefix + np.char.zfill(np.arange(n).astype(str), width).astype(object)
    time = np.datetime64(params.start, "ms") + np.cumsum(gaps * 1000).astype("timedelta64[ms]")
    return Tasks(
        task_id, description, files, task_type, kind_names[kind], n_files, lines, visible, hidden, time
    )


def _file_lists(
    comp: np.ndarray, module0: np.ndarray, n_files: np.ndarray, doc: np.ndarray, is_tests: np.ndarray
) -> np.ndarray:
    """JSON lists of paths: ``src/<package>/<module>.py`` with distinct modules, led by the doc file the
    description names (``doc`` is 1 + its index, 0 for none); tests tasks end with their test file.

    The lists depend on a few small integers only, so each distinct combination is built once and gathered.
    """
    n_mod = len(MODULES)
    tests = is_tests & (n_files > 1)
    key = (((doc * 2 + tests) * len(COMPONENTS) + comp) * n_mod + module0) * 64 + n_files
    unique, inverse = np.unique(key, return_inverse=True)
    built = np.empty(len(unique), dtype=object)
    for u, value in enumerate(unique.tolist()):
        rest, count = divmod(value, 64)
        rest, first = divmod(rest, n_mod)
        rest, c = divmod(rest, len(COMPONENTS))
        d, t = divmod(rest, 2)
        package = COMPONENTS[c][1]
        paths = [DOC_FILES[d - 1]] if d else []
        paths += [f"src/{package}/{MODULES[(first + j) % n_mod]}.py" for j in range(count - len(paths))]
        if t:
            paths[-1] = f"tests/test_{package}.py"
        built[u] = json.dumps(paths)
    return built[inverse.reshape(-1)]
