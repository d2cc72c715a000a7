/* slot.c — source identity, slot state, input tables, slot commands. */
#include "stream/slot.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/pqmsg.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static PGresult *
query(PGconn *pg, const char *sql, int n, const char *const *params)
{
	return PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
}

int
trk_slot_inspect(PGconn *pg, const char *slot, trk_slot_info_t *out, trk_buf_t *err)
{
	PGresult   *r;
	const char *p[1] = {slot};

	memset(out, 0, sizeof(*out));
	r = query(pg, "SELECT system_identifier::text, current_database(), "
			  "current_setting('max_slot_wal_keep_size') = '-1' FROM pg_control_system()",
			  0, NULL);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return trk_pq_fail(err, "cannot identify the source", pg, r);
	snprintf(out->system_identifier, sizeof(out->system_identifier), "%s", PQgetvalue(r, 0, 0));
	out->database = trk_strdup(PQgetvalue(r, 0, 1));
	out->max_slot_wal_keep_size_unlimited = PQgetvalue(r, 0, 2)[0] == 't';
	PQclear(r);

	r = query(pg, "SELECT coalesce(plugin, ''), coalesce(database::text, ''), "
			  "coalesce(wal_status, ''), coalesce(confirmed_flush_lsn, '0/0')::text, "
			  "coalesce(active_pid, 0) FROM pg_replication_slots WHERE slot_name = $1",
			  1, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read pg_replication_slots", pg, r);
	if (PQntuples(r) == 1)
	{
		const char *lsn = PQgetvalue(r, 0, 3);

		out->slot_exists = true;
		out->plugin = trk_strdup(PQgetvalue(r, 0, 0));
		out->slot_database = trk_strdup(PQgetvalue(r, 0, 1));
		out->wal_status = trk_strdup(PQgetvalue(r, 0, 2));
		if (!trk_lsn_parse(lsn, strlen(lsn), &out->confirmed_flush))
			out->confirmed_flush = 0;
		out->active_pid = (int) strtol(PQgetvalue(r, 0, 4), NULL, 10);
	}
	else
	{
		out->plugin = trk_strdup("");
		out->slot_database = trk_strdup("");
		out->wal_status = trk_strdup("");
	}
	PQclear(r);
	return 0;
}

void
trk_slot_info_free(trk_slot_info_t *si)
{
	free(si->database);
	free(si->plugin);
	free(si->slot_database);
	free(si->wal_status);
	memset(si, 0, sizeof(*si));
}

/*
 * IDENTITY_OK is true when wal2json will send a usable old row for updates
 * and deletes: REPLICA IDENTITY FULL, USING INDEX, or DEFAULT with a
 * primary key.
 */
#define IDENTITY_OK(alias) \
	"(" alias ".relreplident IN ('f', 'i') OR (" alias ".relreplident = 'd' AND EXISTS " \
	"(SELECT 1 FROM pg_index i WHERE i.indrelid = " alias ".oid AND i.indisprimary)))"

int
trk_slot_describe_table(PGconn *pg, const char *schema, const char *table,
						trk_slot_table_t *out, trk_buf_t *err)
{
	const char *p[2] = {schema, table};
	PGresult   *r;
	char		oid[16];

	memset(out, 0, sizeof(*out));
	r = query(pg, "SELECT c.oid::text, c.relkind = 'p', " IDENTITY_OK("c")
			  " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
			  " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
			  2, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot describe an input table", pg, r);
	if (PQntuples(r) == 0)
	{
		PQclear(r);
		return 0;
	}
	out->exists = true;
	snprintf(oid, sizeof(oid), "%s", PQgetvalue(r, 0, 0));
	out->partitioned = PQgetvalue(r, 0, 1)[0] == 't';
	out->identity_ok = PQgetvalue(r, 0, 2)[0] == 't';
	PQclear(r);
	if (!out->partitioned)
		return 0;

	p[0] = oid;
	r = query(pg, "SELECT n.nspname, c.relname, " IDENTITY_OK("c")
			  " FROM pg_partition_tree($1::oid::regclass) t"
			  " JOIN pg_class c ON c.oid = t.relid"
			  " JOIN pg_namespace n ON n.oid = c.relnamespace"
			  " WHERE t.isleaf ORDER BY 1, 2",
			  1, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot list the partitions of an input table", pg, r);
	out->nleaves = (size_t) PQntuples(r);
	out->leaves = trk_calloc(out->nleaves + 1, sizeof(trk_slot_leaf_t));
	for (size_t i = 0; i < out->nleaves; i++)
	{
		out->leaves[i].schema = trk_strdup(PQgetvalue(r, (int) i, 0));
		out->leaves[i].name = trk_strdup(PQgetvalue(r, (int) i, 1));
		out->leaves[i].identity_ok = PQgetvalue(r, (int) i, 2)[0] == 't';
	}
	PQclear(r);
	return 0;
}

void
trk_slot_table_free(trk_slot_table_t *t)
{
	for (size_t i = 0; i < t->nleaves; i++)
	{
		free(t->leaves[i].schema);
		free(t->leaves[i].name);
	}
	free(t->leaves);
	memset(t, 0, sizeof(*t));
}

int
trk_slot_schema_tables(PGconn *pg, const char *schema, char ***names, size_t *n, trk_buf_t *err)
{
	const char *p[1] = {schema};
	PGresult   *r = query(pg, "SELECT c.relname FROM pg_class c"
						  " JOIN pg_namespace n ON n.oid = c.relnamespace"
						  " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", 1, p);

	*names = NULL;
	*n = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot list the tables of a schema", pg, r);
	*n = (size_t) PQntuples(r);
	*names = trk_calloc(*n + 1, sizeof(char *));
	for (size_t i = 0; i < *n; i++)
		(*names)[i] = trk_strdup(PQgetvalue(r, (int) i, 0));
	PQclear(r);
	return 0;
}

/*
 * add_name escapes what wal2json's add-tables parser reads specially: the
 * list separator ',', whitespace, the schema separator '.', a leading '*'
 * (all), and the escape character itself.
 */
static void
add_name(trk_buf_t *b, const char *name)
{
	for (const char *p = name; *p; p++)
	{
		if (*p == ',' || *p == '.' || *p == '*' || *p == '\\' || isspace((unsigned char) *p))
			trk_buf_appendc(b, '\\');
		trk_buf_appendc(b, *p);
	}
}

void
trk_slot_add_table(trk_buf_t *list, const char *schema, const char *table)
{
	if (list->len)
		trk_buf_appendc(list, ',');
	add_name(list, schema);
	trk_buf_appendc(list, '.');
	if (table)
		add_name(list, table);
	else
		trk_buf_appendc(list, '*');
}

/* quote_ident_repl double-quotes an identifier for a replication command. */
static void
quote_ident(trk_buf_t *b, const char *s)
{
	trk_buf_appendc(b, '"');
	for (; *s; s++)
	{
		if (*s == '"')
			trk_buf_appendc(b, '"');
		trk_buf_appendc(b, *s);
	}
	trk_buf_appendc(b, '"');
}

static void
quote_literal(trk_buf_t *b, const char *s)
{
	trk_buf_appendc(b, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			trk_buf_appendc(b, '\'');
		trk_buf_appendc(b, *s);
	}
	trk_buf_appendc(b, '\'');
}

/*
 * exec_waiting is PQexec that calls waiting every second while the server
 * takes its time, and cancels the command when waiting says so.
 */
static PGresult *
exec_waiting(PGconn *pg, const char *sql, trk_slot_waiting_fn waiting, void *arg)
{
	double		start = trk_mono_s();
	double		next = start + 1;
	bool		cancelled = false;
	PGresult   *r = NULL;
	PGresult   *last = NULL;

	if (waiting == NULL)
		return PQexec(pg, sql);
	if (PQsendQuery(pg, sql) != 1)
		return NULL;
	while (PQisBusy(pg))
	{
		struct pollfd pfd = {PQsocket(pg), POLLIN, 0};
		double		left = next - trk_mono_s();
		int			n = poll(&pfd, 1, left > 0 ? (int) (left * 1000) + 1 : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;				/* PQgetResult reports what is wrong */
		if (n == 0)
		{
			next = trk_mono_s() + 1;
			if (!cancelled && !waiting(arg, trk_mono_s() - start))
			{
				PGcancel   *c = PQgetCancel(pg);
				char		why[256];

				cancelled = true;
				if (c != NULL)
				{
					PQcancel(c, why, sizeof(why));
					PQfreeCancel(c);
				}
			}
			continue;
		}
		if (PQconsumeInput(pg) != 1)
			break;
	}
	/* the last result is the one to read (PQexec keeps the error, if any) */
	while ((r = PQgetResult(pg)) != NULL)
	{
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR)
			PQclear(r);
		else
		{
			PQclear(last);
			last = r;
		}
	}
	return last;
}

int
trk_slot_create(PGconn *repl, const char *slot, bool temporary, trk_lsn_t *consistent_point,
				char *snapshot, trk_slot_waiting_fn waiting, void *arg, trk_buf_t *err)
{
	trk_buf_t	sql = {0};
	PGresult   *r;
	const char *lsn;

	trk_buf_append(&sql, "CREATE_REPLICATION_SLOT ");
	quote_ident(&sql, slot);
	trk_buf_appendf(&sql, "%s LOGICAL wal2json (SNAPSHOT '%s')", temporary ? " TEMPORARY" : "",
					snapshot ? "export" : "nothing");
	r = exec_waiting(repl, trk_buf_cstr(&sql), waiting, arg);
	trk_buf_free(&sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) < 3)
	{
		const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		bool		full = st != NULL && strcmp(st, "53400") == 0;

		trk_pq_fail(err, "cannot create the replication slot", repl, r);
		return full ? TRK_SLOT_FULL : -1;
	}
	lsn = PQgetvalue(r, 0, 1);
	if (!trk_lsn_parse(lsn, strlen(lsn), consistent_point))
	{
		trk_buf_appendf(err, "unexpected consistent point \"%s\"", lsn);
		PQclear(r);
		return -1;
	}
	if (snapshot)
		snprintf(snapshot, TRK_SNAPSHOT_NAME_SIZE, "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	return 0;
}

int
trk_slot_start(PGconn *repl, const char *slot, trk_lsn_t from, const char *add_tables,
			   trk_buf_t *err)
{
	trk_buf_t	sql = {0};
	char		lsn[TRK_LSN_BUFSIZE];
	PGresult   *r;

	/*
	 * Type OIDs, not names: building each value's type name (with its
	 * typmod) costs the walsender about a quarter of its time, and the OID
	 * says all trucker needs — bytea, and the parameter type.
	 */
	trk_buf_append(&sql, "START_REPLICATION SLOT ");
	quote_ident(&sql, slot);
	trk_buf_appendf(&sql, " LOGICAL %s (\"format-version\" '2', \"include-xids\" '1', "
					"\"include-timestamp\" '1', \"include-lsn\" '1', \"include-pk\" '1', "
					"\"include-type-oids\" '1', \"include-types\" '0', \"add-tables\" ",
					trk_lsn_format(from, lsn));
	quote_literal(&sql, add_tables);
	trk_buf_appendc(&sql, ')');
	r = PQexec(repl, trk_buf_cstr(&sql));
	trk_buf_free(&sql);
	if (PQresultStatus(r) != PGRES_COPY_BOTH)
		return trk_pq_fail(err, "START_REPLICATION failed", repl, r);
	PQclear(r);
	return 0;
}
