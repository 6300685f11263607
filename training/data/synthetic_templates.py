"""The synthetic generator's vocabulary: task kinds, description templates, slot fillers and modifiers.

Data only (house style: numbers that tune behaviour live in data). Each kind carries the visible part of its
difficulty (``base``), how often it occurs and how large its change set tends to be; see
``datasets/README.md`` for the latent-difficulty model that uses them.

Rules the fillers keep, checked by ``tests/test_synthetic.py``: a slot filler never contains a keyword of the
heuristic estimator's task-type rules, so the estimator names every rendered description's type the way the
template alone does; modifiers carry their difficulty through keywords the estimator (or a text model) sees.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of coding task.

    ``base`` is its visible difficulty on the logit scale; ``weight`` its relative frequency; a task of this
    kind involves ``1 + Poisson(extra_files)`` files of about ``median_lines`` lines each (log-normal).
    ``docs`` kinds touch documentation files rather than source modules.
    """

    name: str
    weight: float
    base: float
    extra_files: float
    median_lines: float
    templates: tuple[str, ...]
    docs: bool = False


KINDS: tuple[Kind, ...] = (
    Kind("typo", 0.08, -2.6, 0.0, 120, (
        "Fix typo in {doc_file}: '{wrong}' should be '{right}'.",
        "Typo in the help text of {component}: '{wrong}' instead of '{right}'.",
        "Correct the misspelling '{wrong}' in {doc_file}.",
    ), docs=True),
    Kind("formatting", 0.05, -2.0, 1.0, 250, (
        "Run the formatter over {file} and resolve the lint warnings.",
        "Fix indentation and whitespace in {file}.",
    )),
    Kind("docs", 0.10, -1.6, 0.5, 150, (
        "Update the documentation of {component} to describe {feature}.",
        "Write docstrings for the public functions in {file}.",
        "Add a section on {condition_noun} to the documentation of {component} in {doc_file}.",
    ), docs=True),
    Kind("tests", 0.12, -0.6, 1.0, 250, (
        "Add unit tests for {component} covering the case where {condition}.",
        "Write tests for {file}; coverage of {thing} is missing.",
        "Increase test coverage of {component} for {feature}.",
    )),
    Kind("bug_fix", 0.22, -0.1, 1.0, 300, (
        "Fix {error} in {component} when {condition}.",
        "{component_cap} crashes with {error} when {condition}.",
        "Wrong totals in {component} when {condition}; the result is off by one.",
        "Bug: {component} returns an empty page when {condition}.",
    )),
    Kind("refactor", 0.10, 0.3, 3.0, 300, (
        "Refactor {component} to extract {thing} into a separate module.",
        "Clean up {file}: split {thing} into smaller functions.",
        "Rename the helpers of {thing} in {component} and deduplicate them.",
    )),
    Kind("new_feature", 0.14, 0.5, 2.5, 300, (
        "Implement {feature} in {component}.",
        "Add {feature} to {component}, behind a settings flag.",
        "Support {feature} in {component} for the mobile app.",
    )),
    Kind("performance", 0.06, 1.0, 1.5, 400, (
        "Optimize {perf_op} in {component}: {perf_symptom}.",
        "{perf_op_cap} is slow ({perf_symptom}); find the bottleneck in {component}.",
        "Reduce memory usage and latency of {component} during {perf_op}.",
    )),
    Kind("concurrency", 0.04, 1.5, 1.5, 400, (
        "Fix race condition in {component}: two workers {conc_op} at the same time.",
        "Deadlock in {component} when {conc_op} runs in parallel with a reload.",
        "Make {component} safe to use from multiple threads; today {conc_op} can interleave.",
    )),
    Kind("security", 0.04, 1.3, 1.5, 350, (
        "Fix SQL injection vulnerability in the {endpoint} endpoint of {component}.",
        "Security: {component} leaks session tokens in its logs; redact them, rotate the leaked credentials.",
        "Stored XSS in {component}: the {endpoint} field is rendered unescaped.",
    )),
    Kind("architecture", 0.03, 2.0, 6.0, 400, (
        "Redesign {component} as a separate microservice with its own storage.",
        "Restructure {component} behind an abstraction layer so {feature} can be swapped out.",
        "Decouple {component} from {component2}; the architecture has them share tables.",
    )),
    Kind("distributed", 0.02, 2.5, 4.0, 500, (
        "Implement leader election for {component} using a consensus protocol.",
        "Add replication of {component} state across regions with conflict resolution.",
        "Introduce sharding for {component} and migrate existing data without downtime.",
    )),
)  # fmt: skip

#: (phrase, package) pairs; the package names the directory of the task's source files.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("the billing service", "billing"), ("the user account page", "accounts"),
    ("the CSV importer", "importer"), ("the search index", "search"),
    ("the notification worker", "notifications"), ("the payment client", "payments"),
    ("the config loader", "config"), ("the command-line tool", "cli"), ("the REST endpoints", "rest"),
    ("the admin dashboard", "admin"), ("the job scheduler", "scheduler"), ("the report generator", "reports"),
    ("the image resizer", "images"), ("the webhook handler", "webhooks"), ("the session store", "sessions"),
    ("the rate limiter", "ratelimit"), ("the email templates", "email"), ("the plugin loader", "plugins"),
    ("the metrics exporter", "metrics"), ("the inventory module", "inventory"),
    ("the order pipeline", "orders"), ("the geocoding helper", "geo"), ("the audit log", "audit"),
    ("the feature-flag client", "flags"),
)  # fmt: skip
MODULES = ("service", "models", "views", "utils", "handlers", "client", "core", "schema", "jobs", "storage",
           "serializers", "settings")  # fmt: skip
DOC_FILES = (
    "README.md",
    "CONTRIBUTING.md",
    "docs/install.md",
    "docs/usage.md",
    "docs/faq.md",
    "docs/setup.md",
)
SLOTS: dict[str, tuple[str, ...]] = {
    "wrong_right": (
        "recieve|receive", "seperate|separate", "occured|occurred", "enviroment|environment",
        "dependecy|dependency", "paramter|parameter", "accross|across", "defintion|definition",
        "retreive|retrieve", "sucessful|successful", "adress|address", "wich|which",
    ),
    "error": (
        "a KeyError", "an IndexError", "a TypeError", "a ValueError", "an AttributeError",
        "a ZeroDivisionError", "a UnicodeDecodeError", "a RecursionError", "an OverflowError",
        "a FileNotFoundError",
    ),
    "condition": (
        "the input list is empty", "a user has no email address", "the timezone is not UTC",
        "the file name contains spaces", "two items share the same id", "the request body is missing",
        "the amount is negative", "the page size is zero", "the locale is de_DE", "the upstream returns 204",
        "a field holds only blanks", "the date falls on February 29",
    ),
    "condition_noun": (
        "retries", "time zones", "partial results", "large uploads", "unicode names", "timeouts",
    ),
    "feature": (
        "CSV export", "pagination", "a dark mode toggle", "retry with backoff", "bulk delete",
        "a dry-run flag", "signed webhooks", "per-user quotas", "a date filter", "soft deletes",
        "an activity feed",
        "import from Excel", "scheduled reports", "multi-currency prices",
    ),
    "thing": (
        "the validation logic", "the retry loop", "the SQL query assembly", "the date helpers",
        "the HTTP client setup", "the mapping code", "the settings object", "the pricing rules",
    ),
    "perf_op": (
        "loading the dashboard", "exporting a large report", "the nightly batch job", "search queries",
        "bulk imports", "rendering invoices",
    ),
    "perf_symptom": (
        "p99 is 2.3 s", "it takes 40 minutes for 1M rows", "memory grows to 6 GB",
        "CPU stays at 100% for minutes", "each request makes 300 queries",
    ),
    "conc_op": ("update the same record", "flush the queue", "rotate the log file", "refresh the index"),
    "endpoint": ("search", "login", "review", "upload", "feedback", "checkout"),
}  # fmt: skip


@dataclass(frozen=True)
class Modifier:
    """A clause appended to a description with probability ``p`` for the listed kinds, adding ``effect``."""

    text: str
    effect: float
    p: float
    kinds: tuple[str, ...]


_HARD_KINDS = ("bug_fix", "performance", "concurrency", "security", "distributed", "refactor", "new_feature")
MODIFIERS: tuple[Modifier, ...] = (
    Modifier(" Investigate the root cause first; it shows up only intermittently.", 0.8, 0.15,
             ("bug_fix", "performance", "concurrency")),
    Modifier(" Keep backward compatibility for existing callers.", 0.4, 0.2,
             ("refactor", "new_feature", "architecture", "distributed")),
    Modifier(" Mind the edge cases around empty values and unicode.", 0.3, 0.15, (*_HARD_KINDS, "tests")),
    Modifier(" The same code path runs inside a database transaction.", 0.5, 0.1, _HARD_KINDS),
    Modifier(" It should be a small, local change.", -0.4, 0.2,
             ("typo", "formatting", "docs", "tests", "bug_fix", "refactor")),
)  # fmt: skip

#: Neutral sentences (no estimator keyword, no effect on difficulty): realistic noise for text features.
FILLERS = (
    "", "", "", " Reported by a customer on the enterprise plan.", " See the linked ticket for logs.",
    " This blocks the next release.", " The owning team is on call this week.", " Low priority.",
    " Please keep the diff focused.",
)  # fmt: skip
#: Scope sentence appended to every description: sizes are visible in the text, as an orchestrator gives them.
SCOPE = (
    " Touches {n_files} file(s), about {lines} lines in total.",
    " Scope: {n_files} file(s), ~{lines} lines.",
    " Relevant code: {n_files} file(s), {lines} lines.",
)
