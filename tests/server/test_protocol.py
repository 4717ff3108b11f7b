"""Buckets, indexes and vectors through a raw boto3 client: shapes, paging, addressing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from strands_vector_memory.server import ACCOUNT_ID

MakeIndex = Callable[..., str]
ARN_PREFIX = f"arn:aws:s3vectors:eu-west-1:{ACCOUNT_ID}:bucket/"


def vectors(n: int, *, start: int = 0, dimension: int = 4) -> list[dict[str, Any]]:
    """``n`` distinct non-zero vectors with a little metadata."""
    return [
        {
            "key": f"k{i:05d}",
            "data": {"float32": [float(i + 1), float(i % 7), float(i % 3) + 0.5, 1.0][:dimension]},
            "metadata": {"n": i, "parity": "even" if i % 2 == 0 else "odd"},
        }
        for i in range(start, start + n)
    ]


def put_many(client: Any, bucket: str, index: str, items: list[dict[str, Any]]) -> None:
    for i in range(0, len(items), 500):
        client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=items[i : i + 500])


# -- buckets -------------------------------------------------------------------


def test_bucket_lifecycle(client: Any, new_name: Callable[..., str], endpoint_root: Path) -> None:
    name = new_name()
    arn = client.create_vector_bucket(vectorBucketName=name)["vectorBucketArn"]
    assert arn == ARN_PREFIX + name
    assert (endpoint_root / name).is_dir()

    described = client.get_vector_bucket(vectorBucketName=name)["vectorBucket"]
    assert described["vectorBucketName"] == name
    assert described["vectorBucketArn"] == arn
    assert isinstance(described["creationTime"], dt.datetime)
    assert abs(described["creationTime"].timestamp() - dt.datetime.now().timestamp()) < 60
    assert described["defaultIndexMode"] == "ENHANCED"
    assert described["encryptionConfiguration"] == {"sseType": "AES256"}
    assert client.get_vector_bucket(vectorBucketArn=arn)["vectorBucket"]["vectorBucketName"] == name

    client.delete_vector_bucket(vectorBucketArn=arn)
    with pytest.raises(client.exceptions.NotFoundException, match="does not exist"):
        client.get_vector_bucket(vectorBucketName=name)
    assert not (endpoint_root / name).exists()


def test_bucket_encryption_is_kept(client: Any, new_name: Callable[..., str]) -> None:
    name = new_name()
    kms = {"sseType": "aws:kms", "kmsKeyArn": f"arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/abc"}
    client.create_vector_bucket(vectorBucketName=name, encryptionConfiguration=kms, tags={"team": "x"})
    assert client.get_vector_bucket(vectorBucketName=name)["vectorBucket"]["encryptionConfiguration"] == kms


def test_creating_a_bucket_twice_conflicts(client: Any, bucket: str) -> None:
    with pytest.raises(client.exceptions.ConflictException, match="already exists"):
        client.create_vector_bucket(vectorBucketName=bucket)


def test_a_bucket_with_indexes_cannot_be_deleted(client: Any, bucket: str, index: str) -> None:
    with pytest.raises(client.exceptions.ConflictException, match="delete them first"):
        client.delete_vector_bucket(vectorBucketName=bucket)
    client.delete_index(vectorBucketName=bucket, indexName=index)
    client.delete_vector_bucket(vectorBucketName=bucket)


def test_list_vector_buckets_pages_by_prefix(client: Any, new_name: Callable[..., str]) -> None:
    prefix = new_name("p")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in reversed(names):
        client.create_vector_bucket(vectorBucketName=name)
    first = client.list_vector_buckets(prefix=prefix, maxResults=2)
    assert [b["vectorBucketName"] for b in first["vectorBuckets"]] == names[:2]
    assert first["vectorBuckets"][0]["vectorBucketArn"] == ARN_PREFIX + names[0]
    assert isinstance(first["vectorBuckets"][0]["creationTime"], dt.datetime)
    second = client.list_vector_buckets(prefix=prefix, maxResults=2, nextToken=first["nextToken"])
    assert [b["vectorBucketName"] for b in second["vectorBuckets"]] == names[2:4]
    pages = list(client.get_paginator("list_vector_buckets").paginate(prefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["vectorBuckets"]) for p in pages] == [2, 2, 1]
    assert "nextToken" not in pages[-1]
    assert [b["vectorBucketName"] for p in pages for b in p["vectorBuckets"]] == names
    everything = [b["vectorBucketName"] for b in client.list_vector_buckets()["vectorBuckets"]]
    assert set(names) <= set(everything) and everything == sorted(everything)


def test_default_index_mode_applies_to_new_indexes(client: Any, bucket: str, make_index: MakeIndex) -> None:
    client.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="CLASSIC")
    assert client.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["defaultIndexMode"] == "CLASSIC"
    make_index("classic", text_keys=())
    assert client.get_index(vectorBucketName=bucket, indexName="classic")["index"]["indexMode"] == "CLASSIC"
    with pytest.raises(client.exceptions.ValidationException, match="ENHANCED"):
        make_index("texts")
    client.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="ENHANCED")
    make_index("texts")
    assert client.get_index(vectorBucketName=bucket, indexName="texts")["index"]["indexMode"] == "ENHANCED"
    assert client.get_index(vectorBucketName=bucket, indexName="classic")["index"]["indexMode"] == "CLASSIC"


# -- indexes -------------------------------------------------------------------


def test_get_index_reports_every_setting(client: Any, bucket: str, index: str) -> None:
    arn = f"{ARN_PREFIX}{bucket}/index/{index}"
    described = client.get_index(vectorBucketName=bucket, indexName=index)["index"]
    assert described["creationTime"] <= dt.datetime.now(dt.timezone.utc)
    del described["creationTime"]
    assert described == {
        "vectorBucketName": bucket,
        "indexName": index,
        "indexArn": arn,
        "dataType": "float32",
        "dimension": 4,
        "distanceMetric": "cosine",
        "metadataConfiguration": {
            "nonFilterableMetadataKeys": ["content", "context"],
            "textSearchConfigurations": [
                {"metadataKey": "content", "status": "ACTIVE"},
                {"metadataKey": "context", "status": "ACTIVE"},
            ],
        },
        "encryptionConfiguration": {"sseType": "AES256"},
        "indexMode": "ENHANCED",
    }
    assert client.get_index(indexArn=arn)["index"]["indexName"] == index


def test_create_index_answers_its_arn_and_conflicts_when_repeated(client: Any, bucket: str) -> None:
    params = {"vectorBucketName": bucket, "indexName": "a.b-1", "dataType": "float32", "dimension": 3}
    arn = client.create_index(**params, distanceMetric="euclidean")["indexArn"]
    assert arn == f"{ARN_PREFIX}{bucket}/index/a.b-1"
    with pytest.raises(client.exceptions.ConflictException):
        client.create_index(**params, distanceMetric="euclidean")
    described = client.get_index(indexArn=arn)["index"]
    assert described["distanceMetric"] == "euclidean"
    assert "metadataConfiguration" not in described


def test_create_index_in_a_missing_bucket_is_not_found(client: Any, new_name: Callable[..., str]) -> None:
    with pytest.raises(client.exceptions.NotFoundException):
        client.create_index(
            vectorBucketName=new_name(), indexName="idx", dataType="float32", dimension=3, distanceMetric="cosine"
        )


def test_list_indexes_pages_by_prefix(client: Any, bucket: str, make_index: MakeIndex) -> None:
    names = [f"alpha-{i}" for i in range(5)]
    for name in [*names, "beta-0"]:
        make_index(name)
    first = client.list_indexes(vectorBucketName=bucket, prefix="alpha", maxResults=3)
    assert [i["indexName"] for i in first["indexes"]] == names[:3]
    summary = first["indexes"][0]
    assert set(summary) == {"vectorBucketName", "indexName", "indexArn", "creationTime"}
    assert summary["indexArn"] == f"{ARN_PREFIX}{bucket}/index/alpha-0"
    rest = client.list_indexes(vectorBucketArn=ARN_PREFIX + bucket, prefix="alpha", nextToken=first["nextToken"])
    assert [i["indexName"] for i in rest["indexes"]] == names[3:]
    assert "nextToken" not in rest
    paginator = client.get_paginator("list_indexes")
    listed = [
        i["indexName"]
        for p in paginator.paginate(vectorBucketName=bucket, PaginationConfig={"PageSize": 2})
        for i in p["indexes"]
    ]
    assert listed == [*names, "beta-0"]
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_indexes(vectorBucketName=bucket, prefix="beta", nextToken=first["nextToken"])
    assert caught.value.response["fieldList"][0]["path"] == "nextToken"


def test_delete_index(client: Any, bucket: str, index: str) -> None:
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=vectors(3))
    client.delete_index(indexArn=f"{ARN_PREFIX}{bucket}/index/{index}")
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_index(vectorBucketName=bucket, indexName=index)
    with pytest.raises(client.exceptions.NotFoundException):
        client.delete_index(vectorBucketName=bucket, indexName=index)
    assert client.list_indexes(vectorBucketName=bucket)["indexes"] == []


def test_update_index_mode(client: Any, bucket: str, index: str) -> None:
    client.update_index_mode(vectorBucketName=bucket, indexName=index, indexMode="CLASSIC")
    assert client.get_index(vectorBucketName=bucket, indexName=index)["index"]["indexMode"] == "CLASSIC"
    client.update_index_mode(indexArn=f"{ARN_PREFIX}{bucket}/index/{index}", indexMode="ENHANCED")
    assert client.get_index(vectorBucketName=bucket, indexName=index)["index"]["indexMode"] == "ENHANCED"
    with pytest.raises(client.exceptions.NotFoundException):
        client.update_index_mode(vectorBucketName=bucket, indexName="missing", indexMode="ENHANCED")
    with pytest.raises(client.exceptions.ValidationException, match="indexMode"):
        client.update_index_mode(vectorBucketName=bucket, indexName=index, indexMode="TURBO")


def test_update_metadata_configuration(client: Any, bucket: str, make_index: MakeIndex) -> None:
    index = make_index(text_keys=("content",))

    def text_keys() -> list[str]:
        config = client.get_index(vectorBucketName=bucket, indexName=index)["index"]["metadataConfiguration"]
        return [c["metadataKey"] for c in config.get("textSearchConfigurations", [])]

    add = {"textSearchConfigurations": [{"metadataKey": "context", "language": "en"}]}
    arn = client.update_metadata_configuration(vectorBucketName=bucket, indexName=index, add=add)["indexArn"]
    assert arn.endswith(f"/index/{index}")
    assert text_keys() == ["content", "context"]
    with pytest.raises(client.exceptions.ConflictException):
        client.update_metadata_configuration(vectorBucketName=bucket, indexName=index, add=add)
    delete = {"textSearchConfigurations": [{"metadataKey": "content"}]}
    client.update_metadata_configuration(vectorBucketName=bucket, indexName=index, delete=delete)
    assert text_keys() == ["context"]
    with pytest.raises(client.exceptions.ValidationException, match="exactly one"):
        client.update_metadata_configuration(vectorBucketName=bucket, indexName=index, add=add, delete=delete)


# -- vectors -------------------------------------------------------------------


def test_put_and_get_vectors_round_trip(client: Any, bucket: str, index: str) -> None:
    items = [
        {"key": "a", "data": {"float32": [0.1, 0.2, 0.3, 0.4]}, "metadata": {"content": "x", "tags": ["t", 1, True]}},
        {"key": "b", "data": {"float32": [1, 2, 3, 4]}},
    ]
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=items)
    got = client.get_vectors(
        vectorBucketName=bucket, indexName=index, keys=["b", "missing", "a"], returnData=True, returnMetadata=True
    )["vectors"]
    assert [v["key"] for v in got] == ["b", "a"]
    assert got[0]["data"]["float32"] == [1.0, 2.0, 3.0, 4.0]
    assert got[0]["metadata"] == {}
    assert got[1]["metadata"] == {"content": "x", "tags": ["t", 1, True]}
    # float32 on the way in: 0.1 comes back as the nearest float32, as on S3 Vectors.
    assert got[1]["data"]["float32"][0] == pytest.approx(0.1, rel=1e-7) and got[1]["data"]["float32"][0] != 0.1
    bare = client.get_vectors(indexArn=f"{ARN_PREFIX}{bucket}/index/{index}", keys=["a"])["vectors"]
    assert bare == [{"key": "a"}]


def test_put_overwrites_by_key(client: Any, bucket: str, index: str) -> None:
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=vectors(1))
    replaced = [{"key": "k00000", "data": {"float32": [9.0, 9.0, 9.0, 9.0]}, "metadata": {"v": 2}}]
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=replaced)
    got = client.get_vectors(
        vectorBucketName=bucket, indexName=index, keys=["k00000"], returnData=True, returnMetadata=True
    )["vectors"]
    assert got == [{"key": "k00000", "data": {"float32": [9.0, 9.0, 9.0, 9.0]}, "metadata": {"v": 2}}]


def test_delete_vectors(client: Any, bucket: str, index: str) -> None:
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=vectors(3))
    client.delete_vectors(vectorBucketName=bucket, indexName=index, keys=["k00001", "never-existed"])
    listed = client.list_vectors(vectorBucketName=bucket, indexName=index)["vectors"]
    assert [v["key"] for v in listed] == ["k00000", "k00002"]


def test_a_bad_vector_fails_the_whole_batch(client: Any, bucket: str, index: str) -> None:
    batch = vectors(3)
    batch[2]["data"] = {"float32": [1.0, 2.0]}
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=batch)
    response = caught.value.response
    assert response["fieldList"] == [{"path": "vectors[2].data", "message": response["message"]}]
    assert response["message"].startswith("vectors[2].data has dimension 2")
    assert client.list_vectors(vectorBucketName=bucket, indexName=index)["vectors"] == []


# -- ListVectors paging ----------------------------------------------------------


@pytest.fixture(scope="module")
def big_index(client: Any, new_name: Callable[..., str]) -> tuple[str, str]:
    """A bucket and index holding 2,500 vectors (shared by the paging tests)."""
    bucket = new_name("big")
    client.create_vector_bucket(vectorBucketName=bucket)
    client.create_index(
        vectorBucketName=bucket, indexName="big", dataType="float32", dimension=4, distanceMetric="euclidean"
    )
    put_many(client, bucket, "big", vectors(2500))
    return bucket, "big"


EXPECTED_KEYS = {f"k{i:05d}" for i in range(2500)}


def test_list_vectors_pages_with_next_token(client: Any, big_index: tuple[str, str]) -> None:
    bucket, index = big_index
    keys: list[str] = []
    sizes = []
    token = None
    while True:
        params = {"nextToken": token} if token else {}
        page = client.list_vectors(vectorBucketName=bucket, indexName=index, maxResults=1000, **params)
        sizes.append(len(page["vectors"]))
        keys.extend(v["key"] for v in page["vectors"])
        token = page.get("nextToken")
        if token is None:
            break
    assert sizes == [1000, 1000, 500]
    assert len(keys) == len(set(keys)) == 2500 and set(keys) == EXPECTED_KEYS


def test_list_vectors_default_page_and_paginator(client: Any, big_index: tuple[str, str]) -> None:
    bucket, index = big_index
    first = client.list_vectors(vectorBucketName=bucket, indexName=index)
    assert len(first["vectors"]) == 500 and set(first["vectors"][0]) == {"key"}
    pages = client.get_paginator("list_vectors").paginate(
        vectorBucketName=bucket, indexName=index, returnMetadata=True, PaginationConfig={"PageSize": 700}
    )
    entries = [v for p in pages for v in p["vectors"]]
    assert [v["key"] for v in entries] == sorted(EXPECTED_KEYS)
    assert entries[3]["metadata"] == {"n": 3, "parity": "odd"} and "data" not in entries[3]


@pytest.mark.parametrize("segments", [1, 3, 16])
def test_list_vectors_segments_split_the_listing(client: Any, big_index: tuple[str, str], segments: int) -> None:
    bucket, index = big_index
    seen: list[str] = []
    for segment in range(segments):
        pages = client.get_paginator("list_vectors").paginate(
            vectorBucketName=bucket,
            indexName=index,
            segmentCount=segments,
            segmentIndex=segment,
            PaginationConfig={"PageSize": 400},
        )
        part = [v["key"] for p in pages for v in p["vectors"]]
        assert part, f"segment {segment} is empty"
        seen.extend(part)
    assert len(seen) == len(set(seen)) == 2500 and set(seen) == EXPECTED_KEYS


def test_list_vectors_rejects_bad_paging(client: Any, big_index: tuple[str, str]) -> None:
    bucket, index = big_index
    page = client.list_vectors(vectorBucketName=bucket, indexName=index, segmentCount=2, segmentIndex=0)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_vectors(
            vectorBucketName=bucket, indexName=index, segmentCount=2, segmentIndex=1, nextToken=page["nextToken"]
        )
    assert caught.value.response["fieldList"][0]["path"] == "nextToken"
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_vectors(vectorBucketName=bucket, indexName=index, segmentCount=2)
    assert caught.value.response["fieldList"][0]["path"] == "segmentCount"


def test_concurrent_clients_see_every_write(client: Any, bucket: str, make_index: MakeIndex) -> None:
    index = make_index("shared", text_keys=())

    def work(worker: int) -> None:
        client.create_index(
            vectorBucketName=bucket, indexName=f"own-{worker}", dataType="float32", dimension=2, distanceMetric="cosine"
        )
        for i in range(15):
            key = f"w{worker}-{i}"
            vector = [float(worker + 1), float(i + 1), 1.0, 0.5]
            client.put_vectors(
                vectorBucketName=bucket, indexName=index, vectors=[{"key": key, "data": {"float32": vector}}]
            )
            found = client.query_vectors(
                vectorBucketName=bucket, indexName=index, topK=1, queryVector={"float32": vector}
            )
            assert found["vectors"][0]["key"] == key

    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [pool.submit(work, worker) for worker in range(6)]:
            future.result()
    pages = client.get_paginator("list_vectors").paginate(vectorBucketName=bucket, indexName=index)
    assert len({v["key"] for p in pages for v in p["vectors"]}) == 90
    assert len(client.list_indexes(vectorBucketName=bucket, prefix="own-")["indexes"]) == 6
