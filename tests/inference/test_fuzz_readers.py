"""Fuzzing the readers of what users hand us (issue 12): the image loader, the mask loader
and the project reader take generated and mutated files and answer with a result or the
project's InputError (one line), nothing else. Hypothesis keeps the cases it finds
failing in its database and replays them first."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from layerlift.desktop.project import open_project
from layerlift.inference import imageio
from layerlift.inference.errors import InputError
from tests.hostile.make_ora import layer, ora, png, project_ora, small_ora, stack_xml

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _image_bytes(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), np.uint8)).save(buf, fmt)
    return buf.getvalue()


SEEDS = {"png": _image_bytes("PNG"), "jpeg": _image_bytes("JPEG"), "webp": _image_bytes("WEBP"),
         "bmp": _image_bytes("BMP"), "tiff": _image_bytes("TIFF"), "gif": _image_bytes("GIF")}


@st.composite
def mutated(draw, seeds: dict[str, bytes]) -> bytes:
    """A seed file with some bytes changed, a run deleted or repeated, or cut short."""
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["byte", "cut", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
    return bytes(data)


def _one_line(error: InputError) -> None:
    assert str(error) and "\n" not in str(error)


@FUZZ
@given(data=mutated(SEEDS))
def test_the_image_loader_answers_a_picture_or_one_input_error(data):
    try:
        rgba = imageio.load_rgba(data, what="picture")
    except InputError as e:
        _one_line(e)
    else:
        assert rgba.dtype == np.uint8 and rgba.ndim == 3 and rgba.shape[2] == 4


@FUZZ
@given(data=mutated(SEEDS))
def test_the_mask_loader_answers_a_mask_or_one_input_error(tmp_path, data):
    path = tmp_path / "mask.png"
    path.write_bytes(data)
    try:
        mask = imageio.load_mask(path, (24, 32))
    except InputError as e:
        _one_line(e)
    else:
        assert mask.dtype == bool and mask.shape == (24, 32)


PROJECTS = {"foreign": small_ora(), "project": project_ora()}


def _open(tmp_path, data: bytes) -> None:
    path = tmp_path / "p.ora"
    path.write_bytes(data)
    try:
        doc, settings_ = open_project(path)
    except InputError as e:
        _one_line(e)
        assert "p.ora" in str(e)
    else:
        assert doc.image.ndim == 3 and isinstance(settings_, dict)


@FUZZ
@given(data=mutated(PROJECTS))
def test_the_project_reader_answers_a_document_or_one_input_error(tmp_path, data):
    _open(tmp_path, data)


def _rezip(data: bytes, name: str, body: bytes) -> bytes:
    """`data` (a zip) with member `name` replaced by `body`, stored, so every byte counts."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            z.writestr(info.filename, body if info.filename == name else src.read(info))
    return buf.getvalue()


MEMBERS = {"stack.xml": PROJECTS["project"],
           "layerlift/project.json": PROJECTS["project"],
           "data/logo.png": PROJECTS["project"],
           "layerlift/asset-0.png": PROJECTS["project"]}


@FUZZ
@given(st.data())
def test_a_project_with_one_member_mutated(tmp_path, data):
    """The zip stays sound; what a member says is mutated (the XML, the JSON, a picture)."""
    name = data.draw(st.sampled_from(sorted(MEMBERS)))
    original = zipfile.ZipFile(io.BytesIO(MEMBERS[name])).read(name)
    body = data.draw(mutated({name: original}))
    _open(tmp_path, _rezip(MEMBERS[name], name, body))


NUMBERS = st.one_of(st.integers(-2**40, 2**40).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.text(max_size=12))


SIDES = st.one_of(st.integers(1, 64).map(str), NUMBERS)   # mostly a usable canvas


@FUZZ
@given(w=SIDES, h=SIDES, x=NUMBERS, y=NUMBERS, opacity=NUMBERS,
       depth=st.integers(0, 80), count=st.integers(0, 5))
def test_generated_stack_xml(tmp_path, w, h, x, y, opacity, depth, count):
    from xml.sax.saxutils import quoteattr

    attrs = f"x={quoteattr(x)} y={quoteattr(y)} opacity={quoteattr(opacity)}"
    layers = f'<layer name="l" src="data/a.png" {attrs}/>' * count
    nested = "<stack>" * depth + layers + "</stack>" * depth
    xml = f"<image w={quoteattr(w)} h={quoteattr(h)}><stack>{nested}</stack></image>"
    _open(tmp_path, ora({"stack.xml": xml.encode(), "data/a.png": png(mode="RGBA",
                                                                      size=(3, 3))}))


@pytest.mark.parametrize("w,h", [(10, 10), (1, 1)])
def test_generated_stack_xml_good_cases_open(tmp_path, w, h):
    data = ora({"stack.xml": stack_xml(w, h, layer("data/a.png")),
                "data/a.png": png(mode="RGBA", size=(3, 3))})
    path = tmp_path / "ok.ora"
    path.write_bytes(data)
    assert open_project(path)[0].shape == (h, w)
