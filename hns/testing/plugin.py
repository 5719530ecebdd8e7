"""The old name of the pytest plugin, which now lives in ``api.testing.plugin`` (it hands
out the HTTP client, so it sits above api/).  An editable install made before the move
keeps ``pytest11: hns = hns.testing.plugin`` in its metadata until it is reinstalled, and
users may load ``-p hns.testing.plugin`` by hand: both still get the plugin, loaded by
pytest by name, so this module imports nothing from api/."""

from __future__ import annotations

pytest_plugins = ["api.testing.plugin"]
