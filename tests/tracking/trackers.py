"""Reading what the trackers wrote, with their own libraries (and W&B's file format), independently
of ttwriter: an MLflow store, a W&B offline run folder, TensorBoard event files."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def wandb_records(path: Path) -> list[Any]:
    """The records of a W&B offline run file (run-<id>.wandb): a LevelDB-style log of protobuf
    `Record`s after a 7-byte `:W&B` header, in 32 KiB blocks (wandb 0.31 ships no reader)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    pos, chunks, pending = 7, [], b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # a block's tail too short for a record header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == _FULL:
            chunks.append(chunk)
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        elif kind == _LAST:
            chunks.append(pending + chunk)
        else:
            break
    records = []
    for chunk in chunks:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(chunk)
        records.append(record)
    return records


def wandb_run(path: Path) -> dict[str, Any]:
    """name, group, project, tags, config (top-level key -> value) and the history of `loss`."""
    found: dict[str, Any] = {"config": {}, "loss": []}
    for record in wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            found.update(name=run.display_name, group=run.run_group, project=run.project, tags=list(run.tags))
        elif kind == "config":
            for item in record.config.update:
                found["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            if "loss" in items:
                found["loss"].append(items["loss"])
    return found


def tensorboard_run(folder: Path) -> dict[str, Any]:
    """The `loss` scalars (step, value) and the ttwriter text of one run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(folder))
    events.Reload()
    loss = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in events.Tensors("loss")]
    (text,) = events.Tensors("ttwriter/text_summary")
    return {"loss": loss, "text": tensor_util.make_ndarray(text.tensor_proto).item().decode()}
