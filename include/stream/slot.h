/*
 * slot.h — the source side of start-up, with blocking libpq: who the source
 * is, what its slot holds, what the input tables log, and the two
 * replication commands (CREATE_REPLICATION_SLOT, START_REPLICATION).
 */
#ifndef TRK_STREAM_SLOT_H
#define TRK_STREAM_SLOT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/lsn.h"

typedef struct trk_slot_info
{
	char		system_identifier[32];
	char	   *database;		/* owned; current_database() */
	bool		max_slot_wal_keep_size_unlimited;
	bool		slot_exists;
	char	   *plugin;			/* owned */
	char	   *slot_database;	/* owned */
	char	   *wal_status;		/* owned; "" when unknown */
	trk_lsn_t	confirmed_flush;
	int			active_pid;		/* 0 = not in use */
} trk_slot_info_t;

typedef struct trk_slot_leaf
{
	char	   *schema;			/* owned */
	char	   *name;			/* owned */
	bool		identity_ok;
} trk_slot_leaf_t;

typedef struct trk_slot_table
{
	bool		exists;
	bool		partitioned;
	bool		identity_ok;	/* a primary key, an identity index or FULL */
	trk_slot_leaf_t *leaves;	/* owned; partitioned only */
	size_t		nleaves;
} trk_slot_table_t;

int			trk_slot_inspect(PGconn *pg, const char *slot, trk_slot_info_t *out, trk_buf_t *err);
void		trk_slot_info_free(trk_slot_info_t *si);

int			trk_slot_describe_table(PGconn *pg, const char *schema, const char *table,
									trk_slot_table_t *out, trk_buf_t *err);
void		trk_slot_table_free(trk_slot_table_t *t);

/* trk_slot_schema_tables lists the tables of a schema (owned names). */
int			trk_slot_schema_tables(PGconn *pg, const char *schema, char ***names,
								   size_t *n, trk_buf_t *err);

/*
 * trk_slot_add_table appends schema.table (table NULL: schema.*) to a
 * wal2json add-tables list, escaping what its parser treats specially.
 */
void		trk_slot_add_table(trk_buf_t *list, const char *schema, const char *table);

/*
 * Creating a slot waits for the transactions running on the source to end:
 * a waiting function is called every second of the wait with the seconds
 * waited (e.g. to log who is waited on); false calls the creation off.
 */
typedef bool (*trk_slot_waiting_fn) (void *arg, double seconds);

/*
 * trk_slot_create creates a logical slot for wal2json on a replication
 * connection and sets *consistent_point.  With snapshot (room for
 * TRK_SNAPSHOT_NAME_SIZE bytes) it also exports the snapshot of the
 * consistent point and writes its name there: other sessions import it
 * with SET TRANSACTION SNAPSHOT while repl runs no other command.  A
 * temporary slot goes when repl closes.  waiting may be NULL.  Returns 0;
 * TRK_SLOT_FULL when every one of max_replication_slots is taken; else -1.
 */
#define TRK_SLOT_FULL (-2)
#define TRK_SNAPSHOT_NAME_SIZE 64
int			trk_slot_create(PGconn *repl, const char *slot, bool temporary,
							trk_lsn_t *consistent_point, char *snapshot,
							trk_slot_waiting_fn waiting, void *arg, trk_buf_t *err);

/*
 * trk_slot_start sends START_REPLICATION with wal2json format 2 and the
 * options trucker decodes; the connection is then in COPY BOTH.
 */
int			trk_slot_start(PGconn *repl, const char *slot, trk_lsn_t from,
						   const char *add_tables, trk_buf_t *err);

#endif
