"""`make demo`: the product's main job, end to end, on embedded defaults.

Today: route a handful of realistic tasks with the heuristic router and show each decision with its reasons.
"""

from __future__ import annotations

from router import Router
from router.cli._route import show_decision

TASKS = [
    ("Fix typo in README: 'recieve' should be 'receive'", ["README.md"]),
    ("Implement OAuth2 authentication with JWT tokens", ["auth.py", "middleware.py"]),
    (
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        ["scheduler.py", "worker.py", "raft.py", "election.py"],
    ),
    ("Fix SQL injection security vulnerability in the production login endpoint", ["login.py"]),
    ("Fix intermittent race condition in the connection pool that deadlocks under load", ["pool.py"]),
    ("Add a --verbose flag to the CLI", ["cli.py"]),
]


def main() -> None:
    router = Router()
    print("== Routing with the heuristic router (packaged catalog: haiku / sonnet / opus) ==\n")
    for description, files in TASKS:
        print(f"task: {description}")
        show_decision(router.route(description, files=files))
        print()
    print("estimator statistics:", router.estimator.get_statistics())
    print("selector statistics:", router.selector.get_statistics())


if __name__ == "__main__":
    main()
