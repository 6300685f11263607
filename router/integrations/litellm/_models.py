"""Which LiteLLM names stand for which catalog models: explicit configuration, checked once.

A LiteLLM name is a deployment's ``litellm_params.model`` (what a routing plugin's ``candidate_models``
hold, e.g. ``anthropic/claude-haiku-4-5``) or a model group's ``model_name``. The router decides among
catalog names; nothing is guessed from the look of a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError


class ModelMap:
    """LiteLLM names mapped to the catalog's model names.

    Parameters
    ----------
    models : mapping of str to str
        ``{LiteLLM name: catalog name}``; several LiteLLM names may map to one catalog model (several
        deployments of it). Every catalog name must be known.
    catalog : Catalog
        The catalog the router decides over.
    model_list : sequence of mapping, optional
        The LiteLLM ``model_list``; given one, every LiteLLM name must be one of its deployments'
        ``litellm_params.model`` or one of its ``model_name`` groups.

    Examples
    --------
    >>> m = ModelMap({"anthropic/claude-haiku-4-5": "haiku"}, Catalog.default())
    >>> m.catalog_name("anthropic/claude-haiku-4-5"), m.catalog_name("openai/gpt-4o")
    ('haiku', None)
    >>> ModelMap({"openai/gpt-4o": "gpt5"}, Catalog.default())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    router._exceptions.InvalidInputError: models['openai/gpt-4o']: unknown catalog model 'gpt5'. Known ...
    """

    def __init__(
        self,
        models: Mapping[str, str],
        catalog: Catalog,
        *,
        model_list: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(models, Mapping) or not models:
            raise InvalidInputError(
                "models must be a non-empty mapping of LiteLLM names to catalog names, "
                f"got {type(models).__name__} {models!r}"
            )
        known = catalog.names()
        for litellm_name, name in models.items():
            if not isinstance(litellm_name, str) or not litellm_name:
                raise InvalidInputError(
                    f"models: a LiteLLM name must be a non-empty string, got {litellm_name!r}"
                )
            if name not in catalog.models:
                raise InvalidInputError(
                    f"models[{litellm_name!r}]: unknown catalog model {name!r}. "
                    f"Known models: {', '.join(known)}."
                )
        if model_list is not None:
            _check_in_model_list(models, model_list)
        self.catalog = catalog
        self._models = dict(models)

    @classmethod
    def of(cls, models: ModelMap | Mapping[str, str], catalog: Catalog) -> ModelMap:
        """``models`` as a ModelMap over ``catalog`` (a ModelMap over another catalog is refused)."""
        if isinstance(models, ModelMap):
            if models.catalog.names() != catalog.names():
                raise InvalidInputError(
                    f"the model map is over the catalog {models.catalog.names()}, "
                    f"the router's is {catalog.names()}"
                )
            return models
        return cls(models, catalog)

    def catalog_name(self, litellm_model: str | None, model_group: str | None = None) -> str | None:
        """The catalog model a call stands for: by its deployment's model, else by its model group."""
        for name in (litellm_model, model_group):
            if name is not None and name in self._models:
                return self._models[name]
        return None

    def deployments_of(self, name: str, candidates: Iterable[str]) -> list[str]:
        """The candidates that are deployments of catalog model ``name``, in their order."""
        return [c for c in candidates if self._models.get(c) == name]

    def items(self) -> list[tuple[str, str]]:
        return list(self._models.items())

    def __repr__(self) -> str:
        return f"ModelMap({self._models!r})"


def _check_in_model_list(models: Mapping[str, str], model_list: Sequence[Mapping[str, Any]]) -> None:
    names: set[str] = set()
    for deployment in model_list:
        group = deployment.get("model_name")
        params = deployment.get("litellm_params")
        names.update(n for n in (group, params.get("model") if isinstance(params, Mapping) else None) if n)
    unknown = [n for n in models if n not in names]
    if unknown:
        raise InvalidInputError(
            f"models: {', '.join(map(repr, unknown))} not in the LiteLLM model_list (neither a model_name "
            f"nor a deployment's litellm_params.model). Known there: {', '.join(sorted(names))}."
        )
