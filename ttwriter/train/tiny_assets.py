"""Everything a tiny torchtune run needs on a CPU, built locally: nothing is downloaded.

`ttwriter tiny-assets DIR` writes a SentencePiece tokenizer trained on the data, random initial
weights of a two-layer Llama 2 (about 0.2M parameters) and a small alpaca-style JSON data set. The
example family `experiments/tiny/cpu/` trains on them with real `tune run`, in seconds, so the
whole loop (generate, run, results) can be tried on a laptop and tested in CI. The same inputs
give the same bytes, so the assets can be rebuilt anywhere.
"""

from __future__ import annotations

import io
import json
import logging
import random
from pathlib import Path

from ttwriter.errors import ConfigWriterError
from ttwriter.safe_read import refuse_nul, sha256_file

TINY_LLAMA2 = {
    "vocab_size": 320,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 4,
    "embed_dim": 64,
    "intermediate_dim": 128,
    "max_seq_len": 512,
}
"""Arguments of `torchtune.models.llama2.llama2` (and `lora_llama2`) for the tiny model; the
example base config `experiments/tiny/cpu/tiny_lora.yaml` repeats them."""

TOKENIZER_FILE = "tokenizer.model"
MODEL_DIR = "model"
"""Holds only the weights: torchtune's checkpointer copies every other file of checkpoint_dir
into each saved epoch."""
MODEL_FILE = "model.pt"
DATA_FILE = "alpaca_tiny.json"
MANIFEST_FILE = "tiny_assets.json"
N_EXAMPLES = 128
SEED = 0

_WORDS = (
    "apple river stone cloud green quiet bright music paper light window garden yellow ocean "
    "silver forest candle winter summer violin"
).split()
_ALPACA_PROMPTS = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.",
    "Below is an instruction that describes a task. Write a response that appropriately completes "
    "the request.",
    "### Instruction:",
    "### Input:",
    "### Response:",
)


class TinyAssetsError(ConfigWriterError):
    """The tiny assets cannot be written where asked."""


def tiny_examples(n: int = N_EXAMPLES, seed: int = SEED) -> list[dict[str, str]]:
    """Alpaca-style examples of small, learnable tasks: add two numbers, reverse or sort words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = rng.sample(_WORDS, 3)
        kind = i % 4
        if kind == 0:
            a, b = rng.randint(1, 49), rng.randint(1, 49)
            rows.append({"instruction": "Add the two numbers.", "input": f"{a} + {b}", "output": str(a + b)})
        elif kind == 1:
            rows.append(
                {
                    "instruction": "Repeat the words in reverse order.",
                    "input": " ".join(words),
                    "output": " ".join(reversed(words)),
                }
            )
        elif kind == 2:
            rows.append(
                {
                    "instruction": "Sort the words alphabetically.",
                    "input": " ".join(words),
                    "output": " ".join(sorted(words)),
                }
            )
        else:
            rows.append(
                {
                    "instruction": f"Write the word {words[0]} twice.",
                    "input": "",
                    "output": f"{words[0]} {words[0]}",
                }
            )
    return rows


def _train_tokenizer(rows: list[dict[str, str]]) -> bytes:
    import sentencepiece as spm

    lines = [*_ALPACA_PROMPTS]
    for row in rows:
        lines += [row["instruction"], row["input"], row["output"]]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([line for line in lines if line]),
        model_writer=model,
        vocab_size=TINY_LLAMA2["vocab_size"],
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _save_initial_weights(path: Path) -> int:
    """Random initial weights of the tiny Llama 2, as torchtune's own checkpointer reads them."""
    logging.getLogger("torchao").setLevel(logging.ERROR)
    import torch
    from torchtune.models.llama2 import llama2

    torch.manual_seed(SEED)
    model = llama2(**TINY_LLAMA2)
    torch.save(model.state_dict(), path)
    return sum(p.numel() for p in model.parameters())


def build_tiny_assets(directory: str | Path) -> dict[str, object]:
    """Write tokenizer, initial weights and data into `directory`; return the manifest.

    Existing files of the same names are replaced (the same inputs give the same bytes); other
    files in the folder are left alone. Imports torch and torchtune.
    """
    refuse_nul(directory, TinyAssetsError)
    root = Path(directory).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise TinyAssetsError(
            "path exists and is not a folder", file=root, fix="give a folder for the tiny assets"
        )
    try:
        (root / MODEL_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TinyAssetsError(
            f"cannot create the folder: {exc.strerror}", file=root, fix="choose a folder you can write"
        ) from None
    rows = tiny_examples()
    data = root / DATA_FILE
    data.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    tokenizer = root / TOKENIZER_FILE
    tokenizer.write_bytes(_train_tokenizer(rows))
    weights = root / MODEL_DIR / MODEL_FILE
    n_params = _save_initial_weights(weights)
    manifest: dict[str, object] = {
        "what": "tiny CPU training assets written by `ttwriter tiny-assets`",
        "model": {"component": "torchtune.models.llama2.llama2", **TINY_LLAMA2, "parameters": n_params},
        "checkpointer": {
            "_component_": "torchtune.training.FullModelTorchTuneCheckpointer",
            "checkpoint_dir": str(root / MODEL_DIR),
            "checkpoint_files": [MODEL_FILE],
            "model_type": "LLAMA2",
        },
        "tokenizer": {"_component_": "torchtune.models.llama2.llama2_tokenizer", "path": str(tokenizer)},
        "dataset": {
            "_component_": "torchtune.datasets.alpaca_dataset",
            "source": "json",
            "data_files": str(data),
            "split": "train",
            "examples": len(rows),
        },
        "sha256": {str(p.relative_to(root)): sha256_file(p) for p in (tokenizer, weights, data)},
    }
    (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
