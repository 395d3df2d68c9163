"""``mtqa publish``: a build as a Hugging Face Hub dataset, a trained model as a Hub model.

    from mtqa.hub import PublishConfig, publish
    plan = publish(PublishConfig(folder="out/default", repo="me/mtqa-default", dry_run=True))
    print("\\n".join(plan.lines()))

- :mod:`mtqa.hub.export`: the build's shards as Parquet configs (per language, ``parallel``, ``rejected``);
- :mod:`mtqa.hub.provenance`: what the dataset card states, as typed records from the manifest;
- :mod:`mtqa.hub.dataset_card`: the card's metadata and body (template in ``templates/``);
- :mod:`mtqa.hub.model_card`: a model folder of ``mtqa train`` and its card;
- :mod:`mtqa.hub.validate`: offline checks of card metadata;
- :mod:`mtqa.hub.push`: the upload through ``huggingface_hub`` and its one-line errors;
- :mod:`mtqa.hub.catalog`: licences and citations of known sources, the Hub's licence ids.

See docs/publish.md. ``huggingface_hub`` and ``jinja2`` are imported only when a publish runs.
"""

from mtqa.hub.config import PublishConfig, RepoKind, detect_kind
from mtqa.hub.publish import PublishPlan, StagedFile, publish

__all__ = ["PublishConfig", "PublishPlan", "RepoKind", "StagedFile", "detect_kind", "publish"]
