"""Off-policy evaluation: judge a router on the partial logs production has (see ``estimators``)."""

from training.evaluation.ope.estimators import (
    ESTIMATORS,
    PairedEstimate,
    PolicyEstimate,
    compare_policies,
    evaluate_policy,
)
from training.evaluation.ope.logs import PartialLog, partial_log
from training.evaluation.ope.policies import (
    FixedMixPolicy,
    HeuristicPolicy,
    LearnedPolicy,
    Policy,
    SingleModelPolicy,
    policy_from_spec,
)
from training.evaluation.ope.reward import Rewards, fit_rewards

__all__ = [
    "ESTIMATORS",
    "FixedMixPolicy",
    "HeuristicPolicy",
    "LearnedPolicy",
    "PairedEstimate",
    "PartialLog",
    "Policy",
    "PolicyEstimate",
    "Rewards",
    "SingleModelPolicy",
    "compare_policies",
    "evaluate_policy",
    "fit_rewards",
    "partial_log",
    "policy_from_spec",
]
