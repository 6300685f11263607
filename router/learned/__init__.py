"""Stage 3, the learned policy: featurizer, policy, trained model, artifact, and the public ``Router``."""
