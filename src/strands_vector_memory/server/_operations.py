"""One function per S3 Vectors operation: a request body in, a response body out.

Each function reads its members with :class:`~._wire.Body`, calls the bucket registry
or the bucket's embedded engine, and shapes the answer as the botocore service model
(``s3vectors``, 2025-07-15) describes it. Errors are the project's exceptions; the
app turns them into S3 Vectors errors in one place. ``QueryVectors`` lives in
:mod:`._query`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final

from ..core import ConflictError, MemoryRecord, NotFoundError, ValidationError
from ..core._limits import (
    MAX_PUT_BATCH,
    validate_batch_size,
    validate_bucket_name,
    validate_distance_metric,
    validate_key,
)
from ._buckets import INDEX_MODES, BucketRegistry, IndexExtras
from ._query import query_vectors
from ._wire import Body, bucket_of, encryption_config, index_of, page, paging, vector_data, wire_vector

__all__ = ["OPERATIONS", "UNSUPPORTED", "Operation"]

Operation = Callable[[BucketRegistry, Body], dict[str, Any]]

#: Operations of the service model this endpoint answers with ``NotImplemented``.
UNSUPPORTED: Final = frozenset(
    {"DeleteVectorBucketPolicy", "GetVectorBucketPolicy", "PutVectorBucketPolicy"}
    | {"TagResource", "UntagResource", "ListTagsForResource"}
)
MAX_LIST_NAMES: Final = 500
MAX_TEXT_SEARCH_KEYS: Final = 10
_LANGUAGES: Final = ("en", "fr", "es", "pt", "it", "de", "nl", "zh", "ja", "ko")


# -- buckets -------------------------------------------------------------------


def create_vector_bucket(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``CreateVectorBucket``: an empty bucket (``tags`` are accepted and ignored)."""
    name = validate_bucket_name(body.need_text("vectorBucketName"))
    bucket = registry.create_bucket(name, encryption_config(body.member("encryptionConfiguration")))
    return {"vectorBucketArn": bucket.arn}


def get_vector_bucket(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``GetVectorBucket``."""
    bucket = registry.get_bucket(bucket_of(body))
    return {
        "vectorBucket": {
            "vectorBucketName": bucket.name,
            "vectorBucketArn": bucket.arn,
            "creationTime": bucket.created_at,
            "encryptionConfiguration": dict(bucket.encryption),
            "defaultIndexMode": bucket.default_index_mode,
        }
    }


def list_vector_buckets(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``ListVectorBuckets``: sorted by name, ``prefix``, pages of up to 500."""
    prefix = body.text("prefix")
    size, token = paging(body, MAX_LIST_NAMES)
    names, token = page(registry.list_buckets(prefix), size, token, {"list": "buckets", "prefix": prefix or ""})
    summaries = []
    for name in names:
        try:
            bucket = registry.get_bucket(name)
        except NotFoundError:
            continue  # deleted while we listed
        summaries.append({"vectorBucketName": name, "vectorBucketArn": bucket.arn, "creationTime": bucket.created_at})
    return {"vectorBuckets": summaries, **({"nextToken": token} if token else {})}


def delete_vector_bucket(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``DeleteVectorBucket``: only an empty bucket (``ConflictException`` otherwise)."""
    registry.delete_bucket(bucket_of(body))
    return {}


def put_vector_bucket_default_index_mode(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``PutVectorBucketDefaultIndexMode``: the mode of indexes created from now on."""
    mode = body.enum("defaultIndexMode", INDEX_MODES, required=True)
    registry.set_default_index_mode(bucket_of(body), str(mode))
    return {}


# -- indexes -------------------------------------------------------------------


def _strings(items: Sequence[Any] | None, field: str) -> list[str]:
    """An optional array member whose entries must all be strings."""
    if items is not None and not all(isinstance(item, str) for item in items):
        raise ValidationError(f"{field} must be an array of strings", field=field)
    return list(items or ())


def _text_search(items: Sequence[Any] | None, field: str) -> list[dict[str, str]]:
    """Validated ``textSearchConfigurations``; stored ones are always ``ACTIVE`` (indexing is synchronous)."""
    if items is None:
        return []
    if len(items) > MAX_TEXT_SEARCH_KEYS:
        raise ValidationError(f"{field} has {len(items)} entries: at most {MAX_TEXT_SEARCH_KEYS}", field=field)
    configs: dict[str, dict[str, str]] = {}
    for i, item in enumerate(items):
        entry = Body(item, f"{field}[{i}]")
        key = entry.need_text("metadataKey")
        if not 1 <= len(key) <= 63 or key in configs:
            raise ValidationError(f"{entry.field('metadataKey')} must be 1-63 characters and distinct", field=field)
        language = entry.enum("language", _LANGUAGES)
        configs[key] = {"metadataKey": key, **({"language": language} if language else {}), "status": "ACTIVE"}
    return list(configs.values())


def create_index(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``CreateIndex`` in the bucket's default index mode (``tags`` are accepted and ignored)."""
    bucket = bucket_of(body)
    name = body.need_text("indexName")
    body.enum("dataType", ("float32",), required=True)
    dimension = body.need_integer("dimension")
    metric = validate_distance_metric(body.need_text("distanceMetric"))
    config = body.member("metadataConfiguration") or Body({}, "metadataConfiguration")
    non_filterable = _strings(config.items("nonFilterableMetadataKeys"), config.field("nonFilterableMetadataKeys"))
    text_field = config.field("textSearchConfigurations")
    registry.create_index(
        bucket,
        name,
        dimension=dimension,
        distance_metric=metric,
        non_filterable_keys=non_filterable,
        text_search=_text_search(config.items("textSearchConfigurations"), text_field),
        encryption=encryption_config(body.member("encryptionConfiguration")),
    )
    return {"indexArn": registry.index_arn(bucket, name)}


def get_index(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``GetIndex``: the engine's settings plus the sidecar's mode and text search."""
    bucket, name = index_of(body)
    info = registry.backend(bucket).get_index(name)
    extras = registry.index_extras(bucket, name)
    config: dict[str, Any] = {}
    if info.non_filterable_keys:
        config["nonFilterableMetadataKeys"] = sorted(info.non_filterable_keys)
    if extras.text_search:
        config["textSearchConfigurations"] = [dict(c) for c in extras.text_search]
    index: dict[str, Any] = {
        "vectorBucketName": bucket,
        "indexName": name,
        "indexArn": registry.index_arn(bucket, name),
        "creationTime": info.created_at,
        "dataType": "float32",
        "dimension": info.dimension,
        "distanceMetric": info.distance_metric,
        "encryptionConfiguration": dict(extras.encryption or registry.get_bucket(bucket).encryption),
        "indexMode": extras.mode,
    }
    if config:
        index["metadataConfiguration"] = config
    return {"index": index}


def list_indexes(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``ListIndexes``: sorted by name, ``prefix``, pages of up to 500."""
    bucket = bucket_of(body)
    prefix = body.text("prefix")
    size, token = paging(body, MAX_LIST_NAMES)
    infos = {info.name: info for info in registry.backend(bucket).list_indexes(prefix=prefix)}
    scope = {"list": "indexes", "bucket": bucket, "prefix": prefix or ""}
    names, token = page(sorted(infos), size, token, scope)
    summaries = [
        {
            "vectorBucketName": bucket,
            "indexName": name,
            "indexArn": registry.index_arn(bucket, name),
            "creationTime": infos[name].created_at,
        }
        for name in names
    ]
    return {"indexes": summaries, **({"nextToken": token} if token else {})}


def delete_index(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``DeleteIndex``: the index and every vector in it."""
    registry.delete_index(*index_of(body))
    return {}


def update_index_mode(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``UpdateIndexMode``: CLASSIC or ENHANCED (both allowed on every bucket here)."""
    bucket, name = index_of(body)
    mode = str(body.enum("indexMode", INDEX_MODES, required=True))
    registry.change_index_extras(bucket, name, lambda extras: dataclasses.replace(extras, mode=mode))
    return {}


def update_metadata_configuration(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``UpdateMetadataConfiguration``: add or delete text search keys of an ENHANCED index."""
    bucket, name = index_of(body)
    add, delete = body.member("add"), body.member("delete")
    if (add is None) == (delete is None):
        raise ValidationError("give add or delete (exactly one)", field="add")

    def change(extras: IndexExtras) -> IndexExtras:
        if extras.mode != "ENHANCED":
            raise ValidationError(f"index {name!r} is in {extras.mode} mode: text search needs ENHANCED", field="add")
        configs = {c["metadataKey"]: c for c in extras.text_search}
        if add is not None:
            for config in _text_search(add.items("textSearchConfigurations"), add.field("textSearchConfigurations")):
                if config["metadataKey"] in configs:
                    raise ConflictError(f"text search is already configured on {config['metadataKey']!r}")
                configs[config["metadataKey"]] = config
            if len(configs) > MAX_TEXT_SEARCH_KEYS:
                raise ValidationError(f"at most {MAX_TEXT_SEARCH_KEYS} text search keys", field="add")
        if delete is not None:
            field = delete.field("textSearchConfigurations")
            for i, item in enumerate(delete.items("textSearchConfigurations", required=True) or ()):
                key = Body(item, f"{field}[{i}]").need_text("metadataKey")
                if configs.pop(key, None) is None:
                    raise ValidationError(f"text search is not configured on {key!r}", field=f"{field}[{i}]")
        return dataclasses.replace(extras, text_search=tuple(configs.values()))

    registry.change_index_extras(bucket, name, change)
    return {"indexArn": registry.index_arn(bucket, name)}


# -- vectors -------------------------------------------------------------------


def put_vectors(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``PutVectors``: 1-500 vectors, written all or nothing; an existing key is overwritten."""
    bucket, index = index_of(body)
    entries = body.items("vectors", required=True) or []
    validate_batch_size(len(entries), MAX_PUT_BATCH, "put_vectors")
    records = []
    for i, item in enumerate(entries):
        entry = Body(item, f"vectors[{i}]")
        key = entry.need_text("key")
        try:
            validate_key(key)
        except ValidationError as exc:  # the engine's rule, with the path of this entry
            raise ValidationError(str(exc), field=entry.field("key"), limit=exc.limit) from None
        vector = vector_data(entry.data.get("data"), entry.field("data"))
        records.append(MemoryRecord(key, vector, entry.data.get("metadata")))
    registry.backend(bucket).put_vectors(index, records)
    return {}


def get_vectors(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``GetVectors``: 1-100 keys in request order; missing keys are left out."""
    bucket, index = index_of(body)
    keys = body.items("keys", required=True) or []
    data, metadata = body.flag("returnData"), body.flag("returnMetadata")
    records = registry.backend(bucket).get_vectors(index, keys, return_vector=data, return_metadata=metadata)
    return {"vectors": [wire_vector(r) for r in records]}


def list_vectors(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``ListVectors``: pages of up to 1,000 with ``nextToken``, optionally one of up to 16 segments."""
    bucket, index = index_of(body)
    size = body.integer("maxResults")
    token, data, metadata = body.text("nextToken"), body.flag("returnData"), body.flag("returnMetadata")
    segments, segment = body.integer("segmentCount"), body.integer("segmentIndex")
    result = registry.backend(bucket).list_vectors(
        index,
        max_results=500 if size is None else size,
        next_token=token,
        return_vector=data,
        return_metadata=metadata,
        segment_count=segments,
        segment_index=segment,
    )
    vectors = [wire_vector(r) for r in result.records]
    return {"vectors": vectors, **({"nextToken": result.next_token} if result.next_token else {})}


def delete_vectors(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``DeleteVectors``: 1-500 keys; absent keys are ignored."""
    bucket, index = index_of(body)
    keys = body.items("keys", required=True) or []
    registry.backend(bucket).delete_vectors(index, keys)
    registry.deleted(bucket, index)
    return {}


#: Every supported operation by its wire name.
OPERATIONS: Final[dict[str, Operation]] = {
    "CreateVectorBucket": create_vector_bucket,
    "GetVectorBucket": get_vector_bucket,
    "ListVectorBuckets": list_vector_buckets,
    "DeleteVectorBucket": delete_vector_bucket,
    "PutVectorBucketDefaultIndexMode": put_vector_bucket_default_index_mode,
    "CreateIndex": create_index,
    "GetIndex": get_index,
    "ListIndexes": list_indexes,
    "DeleteIndex": delete_index,
    "UpdateIndexMode": update_index_mode,
    "UpdateMetadataConfiguration": update_metadata_configuration,
    "PutVectors": put_vectors,
    "GetVectors": get_vectors,
    "ListVectors": list_vectors,
    "QueryVectors": query_vectors,
    "DeleteVectors": delete_vectors,
}
