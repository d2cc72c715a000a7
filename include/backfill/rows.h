/*
 * rows.h — the backfill of a pipeline with templates: each row of the
 * snapshot goes through the pipeline as an insert, as the stream's would.
 */
#ifndef TRK_BACKFILL_ROWS_H
#define TRK_BACKFILL_ROWS_H

#include <libpq-fe.h>

#include "backfill/copy.h"
#include "base/buf.h"
#include "base/lsn.h"
#include "config/config.h"

/*
 * trk_backfill_rows passes every row of def's input (described by t), as
 * src's snapshot transaction sees it, through def as an insert:
 * transform.sql on src — inside the snapshot — then insert.sql, or the
 * default mirror's upsert, of each row it returns (of the change itself
 * without one), in dst's open transaction.  meta.lsn is lsn, the
 * snapshot's consistent point; the xid and commit time are unknown.  Adds
 * to sh->rows as it goes and gives up when sh says so.  0, or as
 * trk_backfill_copy: TRK_BACKFILL_REFUSED (a template that cannot be bound,
 * a statement refused), else -1; the reason in err, with the values of the
 * change that failed (redacted as in the log).
 */
int			trk_backfill_rows(PGconn *src, PGconn *dst, const trk_pipeline_t *def,
							  const trk_backfill_table_t *t, trk_lsn_t lsn,
							  trk_backfill_shared_t *sh, trk_buf_t *err);

#endif
