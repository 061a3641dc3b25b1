"""The app's settings: declared once with defaults, persisted as JSON in the user's config dir."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from layerlift.inference.imageio import atomic_write_bytes

APP = "layerlift"
MAX_RECENT = 10


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def autosave_dir() -> Path:
    return data_dir() / "autosave"


@dataclass
class Settings:
    engine: str = "classical"
    steps: int = 0                  # 0: the engine's default
    seed: int = 0
    candidates: int = 1
    lora_scale: float = 1.0
    model_path: str = ""
    lora_path: str = ""
    exact_mask: bool = False        # every masked pixel is mark and is filled
    brush_size: float = 40.0        # diameter in photo pixels
    brush_hardness: float = 0.8
    select_tolerance: float = 0.5   # the Select tool's colour reach, 0 (tight) .. 1 (wide)
    overlay_colour: str = "#2f7bff"
    overlay_opacity: float = 0.5
    recent_files: list[str] = field(default_factory=list)
    window_geometry: str = ""       # hex of QWidget.saveGeometry()
    window_state: str = ""          # hex of QMainWindow.saveState()
    last_dir: str = ""
    first_run_hint: bool = True     # the status bar says what to do first, until the first edit

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Settings from disk; unknown keys and values of the wrong type fall back to defaults."""
    path = path or settings_path()
    settings = Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return settings
    if not isinstance(data, dict):
        return settings
    for f in fields(Settings):
        if f.name not in data:
            continue
        value, default = data[f.name], getattr(settings, f.name)
        if isinstance(default, float) and isinstance(value, int | float) \
                and not isinstance(value, bool):
            setattr(settings, f.name, float(value))
        elif isinstance(default, list) and isinstance(value, list):
            setattr(settings, f.name, [str(v) for v in value][:MAX_RECENT])
        elif type(value) is type(default):
            setattr(settings, f.name, value)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (temp file in the same folder, then rename)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(asdict(settings), indent=2).encode("utf-8"))
