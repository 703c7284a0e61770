"""Open data: the program as IATI 2.03 activity XML and as a Fiscal Data Package (any role).

Both are read from the ``program`` read model at one position (``min_position`` waits for
it briefly, as the reports do) and name that position and its Merkle root; the formats are
in ``projections/iati.py`` and ``projections/fiscal_data.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table

from api.endpoints import Download, Reader
from api.read_side import ReadSide
from api.reports import READ_YOUR_WRITES_WAIT, log_root
from ledger.access import Actor
from projections import fiscal_data, iati, program


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_position: int | None = Field(
        default=None, ge=0, description="wait briefly until the export reflects this position"
    )


Writer = Callable[[Connection, dict[str, Table], IO[bytes], int, str | None], None]


def _export(write: Writer, filename: str, media_type: str) -> Reader:
    def read(side: ReadSide, _: Any, q: ExportQuery | None, actor: Actor | None) -> Download:
        projector = side.projector
        if q is not None and q.min_position is not None:
            projector.wait_for(program.NAME, q.min_position, READ_YOUR_WRITES_WAIT)
        # closed by api.app once sent; in memory up to 8 MiB, then on disk
        file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        try:
            with projector.reading(program.NAME) as (connection, tables, position):
                write(connection, tables, file, position, log_root(projector, position))
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return Download(file, filename.format(position=position), media_type)

    return read


iati_xml = _export(iati.write, "nscl-iati-{position}.xml", iati.MEDIA_TYPE)
fiscal_data_package = _export(
    fiscal_data.write, "nscl-fiscal-data-package-{position}.zip", fiscal_data.MEDIA_TYPE
)
