"""Everything a tiny torchtune run needs on a CPU, built locally: nothing is downloaded.

`ttwriter tiny-assets DIR` writes a SentencePiece tokenizer trained on the data, random initial
weights of a two-layer Llama 2 (about 0.2M parameters) and a small alpaca-style JSON data set. The
example family `experiments/tiny/cpu/` trains on them with real `tune run`, in seconds, so the
whole loop (generate, run, evaluate, results) can be tried on a laptop and tested in CI. The same
inputs give the same bytes, so the assets can be rebuilt anywhere.

The model folder is in Hugging Face's format, as shipped models are: `config.json`, the weights as
`model.safetensors` (torchtune's weights converted to HF names, so transformers computes the same
logits) and the tokenizer files transformers reads (`tokenizer.model`, `tokenizer_config.json`
with an alpaca chat template, so a harness prompts the model the way it was trained). torchtune's
`FullModelHFCheckpointer` reads it, and copies every file but the weights into each saved epoch,
so `epoch_N/` is a model transformers (and so inspect-ai and lm-eval) can load. Writing it needs
torch, torchtune and safetensors (torchtune's dependencies), not transformers.
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

MODEL_DIR = "model"
"""The model in Hugging Face's format: torchtune's HF checkpointer copies every file here except
the weights into each saved epoch, so the tokenizer files live here too."""
TOKENIZER_FILE = "tokenizer.model"
"""The SentencePiece model, in MODEL_DIR: torchtune's llama2_tokenizer and transformers both read it."""
MODEL_FILE = "model.safetensors"
HF_CONFIG_FILE = "config.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
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


ALPACA_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n' + message['content'] + '\n\n### Response:\n' }}"
    "{% endif %}{% endfor %}"
)
"""torchtune's alpaca prompt (without input) as a chat template: what a harness sends the model
is what it was fine-tuned on."""


def hf_config() -> dict[str, object]:
    """config.json of the tiny Llama 2: the numbers torchtune's `llama2(**TINY_LLAMA2)` builds
    (RMSNorm eps 1e-5, RoPE base 10000, untied output), as transformers' LlamaForCausalLM reads them."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": TINY_LLAMA2["vocab_size"],
        "hidden_size": TINY_LLAMA2["embed_dim"],
        "intermediate_size": TINY_LLAMA2["intermediate_dim"],
        "num_hidden_layers": TINY_LLAMA2["num_layers"],
        "num_attention_heads": TINY_LLAMA2["num_heads"],
        "num_key_value_heads": TINY_LLAMA2["num_kv_heads"],
        "max_position_embeddings": TINY_LLAMA2["max_seq_len"],
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }


def tokenizer_config() -> dict[str, object]:
    """tokenizer_config.json: transformers' Llama tokenizer over tokenizer.model (the SentencePiece
    trainer's <unk>=0, <s>=1, </s>=2), BOS added as torchtune adds it, the alpaca chat template."""
    return {
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "legacy": False,
        "model_max_length": TINY_LLAMA2["max_seq_len"],
        "chat_template": ALPACA_CHAT_TEMPLATE,
    }


def _save_initial_weights(path: Path) -> int:
    """Random initial weights of the tiny Llama 2 in HF's names and layout (torchtune's own
    conversion, the one its HF checkpointer reverses when it loads them)."""
    logging.getLogger("torchao").setLevel(logging.ERROR)
    import torch
    from safetensors.torch import save_file
    from torchtune.models.convert_weights import tune_to_hf
    from torchtune.models.llama2 import llama2

    torch.manual_seed(SEED)
    model = llama2(**TINY_LLAMA2)
    state = tune_to_hf(
        model.state_dict(),
        num_heads=TINY_LLAMA2["num_heads"],
        num_kv_heads=TINY_LLAMA2["num_kv_heads"],
        dim=TINY_LLAMA2["embed_dim"],
    )
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})
    path.chmod(0o644)  # safetensors writes 0600; the folder is shared with the jobs that read it
    return sum(p.numel() for p in model.parameters())


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


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
    model_dir = root / MODEL_DIR
    tokenizer = model_dir / TOKENIZER_FILE
    tokenizer.write_bytes(_train_tokenizer(rows))
    _write_json(model_dir / HF_CONFIG_FILE, hf_config())
    _write_json(model_dir / TOKENIZER_CONFIG_FILE, tokenizer_config())
    weights = model_dir / MODEL_FILE
    n_params = _save_initial_weights(weights)
    written = (tokenizer, model_dir / HF_CONFIG_FILE, model_dir / TOKENIZER_CONFIG_FILE, weights, data)
    manifest: dict[str, object] = {
        "what": "tiny CPU training assets written by `ttwriter tiny-assets`",
        "model": {"component": "torchtune.models.llama2.llama2", **TINY_LLAMA2, "parameters": n_params},
        "checkpointer": {
            "_component_": "torchtune.training.FullModelHFCheckpointer",
            "checkpoint_dir": str(model_dir),
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
        "sha256": {p.relative_to(root).as_posix(): sha256_file(p) for p in written},
    }
    _write_json(root / MANIFEST_FILE, manifest)
    return manifest
