"""The model libraries' own terminal output, off while the flux engine loads and runs.

diffusers, transformers and huggingface_hub draw progress bars ("Loading pipeline
components...", "Loading weights") and log warnings of many lines (every weight a checkpoint
lacks, tokenizer truncations) straight to stderr. The engine reports progress through
`on_progress` and a failure as one error, so a failed load is one line on the command line
and the app's log is not filled with bars. Errors the libraries log are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Progress bars off and log level ERROR for the model libraries; restored after."""
    import diffusers.utils.logging as diffusers_log
    import huggingface_hub.utils as hub
    import transformers.utils.logging as transformers_log

    saved = [(lib, lib.get_verbosity(), lib.is_progress_bar_enabled())
             for lib in (diffusers_log, transformers_log)]
    hub_bars_off = hub.are_progress_bars_disabled()
    for lib, _, _ in saved:
        lib.set_verbosity_error()
        lib.disable_progress_bar()
    hub.disable_progress_bars()
    try:
        yield
    finally:
        for lib, verbosity, bars in saved:
            lib.set_verbosity(verbosity)
            if bars:
                lib.enable_progress_bar()
        if not hub_bars_off:
            hub.enable_progress_bars()
