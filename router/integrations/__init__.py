"""Adapters that plug the router into gateways teams already run (``router.integrations.litellm``).

Each adapter imports its gateway's library, so nothing here is imported by ``import router``; install the
matching extra (``pip install 'llm-task-router[litellm]'``).
"""
