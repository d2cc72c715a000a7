/* smoke.c — smoke test: system libpq and libduckdb (ducklake, postgres) in one process. */
#define _GNU_SOURCE				/* dladdr */
#define DUCKDB_API_NO_DEPRECATED	/* use only the current C API */

#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duckdb.h>
#include <libpq-fe.h>

#define SMOKE_ROWS 3

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list		ap;

	fputs("duckdb smoke: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Returns a malloc'd printf result; exits on out-of-memory. */
static char *sql_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
sql_printf(const char *fmt, ...)
{
	va_list		ap;
	int			n;
	char	   *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t) n + 1)) == NULL)
	{
		fail("out of memory");
		exit(1);
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Single-quoted SQL literal of s (quotes doubled); malloc'd. */
static char *
sql_literal(const char *s)
{
	size_t		len = strlen(s);
	char	   *out = malloc(2 * len + 3);
	char	   *p = out;

	if (out == NULL)
	{
		fail("out of memory");
		exit(1);
	}
	*p++ = '\'';
	for (; *s != '\0'; s++)
	{
		if (*s == '\'')
			*p++ = '\'';
		*p++ = *s;
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

/*
 * Connects with the system libpq, runs a query that must return one integer,
 * and checks it.  When keep is non-NULL the connection is handed back open.
 */
static bool
pq_check(const char *step, const char *conninfo, PGconn *reuse, PGconn **keep,
		 const char *query, long long want)
{
	PGconn	   *conn = reuse;
	PGresult   *res = NULL;
	bool		ok = false;
	long long	got;

	if (conn == NULL)
	{
		conn = PQconnectdb(conninfo);
		if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		{
			fail("%s: PQconnectdb failed: %s", step,
				 conn ? PQerrorMessage(conn) : "out of memory");
			goto done;
		}
	}
	res = PQexec(conn, query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		fail("%s: libpq query \"%s\" failed: %s", step, query,
			 PQerrorMessage(conn));
		goto done;
	}
	got = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (got != want)
	{
		fail("%s: libpq query \"%s\" returned %lld, want %lld", step, query,
			 got, want);
		goto done;
	}
	printf("duckdb smoke: %s: libpq ok (server %d, ssl %s, %s = %lld)\n",
		   step, PQserverVersion(conn), PQsslInUse(conn) ? "on" : "off",
		   query, got);
	ok = true;

done:
	PQclear(res);
	if (ok && keep != NULL)
		*keep = conn;
	else if (conn != reuse)
		PQfinish(conn);
	return ok;
}

/* Prints the one-value result of query on conn; false if it fails. */
static bool
pq_show(PGconn *conn, const char *label, const char *query)
{
	PGresult   *res = PQexec(conn, query);
	bool		ok = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		fail("libpq query \"%s\" failed: %s", query, PQerrorMessage(conn));
		goto done;
	}
	printf("duckdb smoke: %s: %s\n", label, PQgetvalue(res, 0, 0));
	ok = true;

done:
	PQclear(res);
	return ok;
}

/* Runs one DuckDB statement whose result is ignored. */
static bool
duck_exec(duckdb_connection con, const char *sql)
{
	duckdb_result res;
	bool		ok = true;

	if (duckdb_query(con, sql, &res) == DuckDBError)
	{
		fail("duckdb: %s\n  in: %s", duckdb_result_error(&res), sql);
		ok = false;
	}
	duckdb_destroy_result(&res);
	return ok;
}

/* Runs a DuckDB query returning one BIGINT row and compares it with want. */
static bool
duck_check_count(duckdb_connection con, const char *sql, int64_t want)
{
	duckdb_result res;
	duckdb_data_chunk chunk = NULL;
	duckdb_vector vec;
	uint64_t   *validity;
	bool		ok = false;
	int64_t		got;

	if (duckdb_query(con, sql, &res) == DuckDBError)
	{
		fail("duckdb: %s\n  in: %s", duckdb_result_error(&res), sql);
		goto done;
	}
	if (duckdb_column_count(&res) != 1)
	{
		fail("duckdb: expected 1 column from: %s", sql);
		goto done;
	}
	chunk = duckdb_fetch_chunk(res);
	if (chunk == NULL || duckdb_data_chunk_get_size(chunk) != 1)
	{
		fail("duckdb: expected 1 row from: %s", sql);
		goto done;
	}
	vec = duckdb_data_chunk_get_vector(chunk, 0);
	{
		duckdb_logical_type type = duckdb_vector_get_column_type(vec);
		duckdb_type id = duckdb_get_type_id(type);

		duckdb_destroy_logical_type(&type);
		if (id != DUCKDB_TYPE_BIGINT)
		{
			fail("duckdb: expected a BIGINT (got type id %d) from: %s",
				 (int) id, sql);
			goto done;
		}
	}
	validity = duckdb_vector_get_validity(vec);
	if (!duckdb_validity_row_is_valid(validity, 0))
	{
		fail("duckdb: NULL result from: %s", sql);
		goto done;
	}
	got = ((int64_t *) duckdb_vector_get_data(vec))[0];
	if (got != want)
	{
		fail("duckdb: got %" PRId64 ", want %" PRId64 " from: %s", got, want,
			 sql);
		goto done;
	}
	ok = true;

done:
	if (chunk != NULL)
		duckdb_destroy_data_chunk(&chunk);
	duckdb_destroy_result(&res);
	return ok;
}

static bool
set_config(duckdb_config config, const char *name, const char *value)
{
	if (duckdb_set_config(config, name, value) == DuckDBError)
	{
		fail("duckdb_set_config(%s=%s) failed", name, value);
		return false;
	}
	return true;
}

/* LOAD ext_dir/name.duckdb_extension by absolute path. */
static bool
load_extension(duckdb_connection con, const char *ext_dir, const char *name)
{
	char	   *path = sql_printf("%s/%s.duckdb_extension", ext_dir, name);
	char	   *lit = sql_literal(path);
	char	   *sql = sql_printf("LOAD %s", lit);
	bool		ok = duck_exec(con, sql);

	free(sql);
	free(lit);
	free(path);
	return ok;
}

/* ATTACH 'ducklake:<catalog>' AS alias (DATA_PATH '<data_path>'). */
static bool
attach_lake(duckdb_connection con, const char *alias, const char *catalog,
			const char *data_path)
{
	char	   *uri = sql_printf("ducklake:%s", catalog);
	char	   *uri_lit = sql_literal(uri);
	char	   *data_lit = sql_literal(data_path);
	char	   *sql = sql_printf("ATTACH %s AS %s (DATA_PATH %s)", uri_lit,
								 alias, data_lit);
	bool		ok = duck_exec(con, sql);

	free(sql);
	free(data_lit);
	free(uri_lit);
	free(uri);
	return ok;
}

/* CREATE, INSERT and count(*) in the attached lake named alias. */
static bool
exercise_lake(duckdb_connection con, const char *alias)
{
	char	   *sql;
	bool		ok;

	sql = sql_printf("DROP TABLE IF EXISTS %s.smoke", alias);
	ok = duck_exec(con, sql);
	free(sql);
	if (ok)
	{
		sql = sql_printf("CREATE TABLE %s.smoke (id BIGINT, note VARCHAR)",
						 alias);
		ok = duck_exec(con, sql);
		free(sql);
	}
	if (ok)
	{
		sql = sql_printf("INSERT INTO %s.smoke SELECT i, 'row ' || i "
						 "FROM range(%d) t(i)", alias, SMOKE_ROWS);
		ok = duck_exec(con, sql);
		free(sql);
	}
	if (ok)
	{
		sql = sql_printf("SELECT count(*) FROM %s.smoke", alias);
		ok = duck_check_count(con, sql, SMOKE_ROWS);
		free(sql);
	}
	if (ok)
		printf("duckdb smoke: lake %s: create/insert/count ok (%d rows)\n",
			   alias, SMOKE_ROWS);
	return ok;
}

int
main(int argc, char **argv)
{
	const char *ext_dir;
	const char *work_dir;
	const char *conninfo;
	PGconn	   *held = NULL;
	duckdb_config config = NULL;
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	char	   *path = NULL;
	char	   *data_path = NULL;
	Dl_info		info;
	int			rc = 1;

	if (argc != 4)
	{
		fprintf(stderr, "usage: duckdb_smoke EXT_DIR WORK_DIR PG_CONNINFO\n");
		return 2;
	}
	ext_dir = argv[1];
	work_dir = argv[2];
	conninfo = argv[3];

	/* Which libpq our own PQ* calls bind to. */
	if (dladdr((void *) PQconnectdb, &info) != 0 && info.dli_fname != NULL)
		printf("duckdb smoke: PQconnectdb resolves to %s (PQlibVersion %d)\n",
			   info.dli_fname, PQlibVersion());
	printf("duckdb smoke: libduckdb %s\n", duckdb_library_version());

	/* 1. system libpq before DuckDB is in play; keep this connection open. */
	if (!pq_check("before duckdb", conninfo, NULL, &held, "SELECT 1", 1))
		goto done;

	/* 2. DuckDB with auto-install/auto-load off; load both extensions. */
	if (duckdb_create_config(&config) == DuckDBError)
	{
		fail("duckdb_create_config failed");
		goto done;
	}
	if (!set_config(config, "autoinstall_known_extensions", "false") ||
		!set_config(config, "autoload_known_extensions", "false") ||
		!set_config(config, "extension_directory", work_dir))
		goto done;
	{
		char	   *err = NULL;

		if (duckdb_open_ext(NULL, &db, config, &err) == DuckDBError)
		{
			fail("duckdb_open_ext: %s", err ? err : "unknown error");
			duckdb_free(err);
			goto done;
		}
	}
	if (duckdb_connect(db, &con) == DuckDBError)
	{
		fail("duckdb_connect failed");
		goto done;
	}
	if (!load_extension(con, ext_dir, "ducklake") ||
		!load_extension(con, ext_dir, "postgres_scanner"))
		goto done;
	if (!duck_check_count(con,
						  "SELECT count(*) FROM duckdb_extensions() "
						  "WHERE loaded AND extension_name IN "
						  "('ducklake', 'postgres_scanner')", 2))
		goto done;
	printf("duckdb smoke: extensions ducklake, postgres_scanner loaded\n");

	/* 3. system libpq after the extension's own libpq is mapped. */
	if (!pq_check("after LOAD (held conn)", conninfo, held, NULL, "SELECT 2", 2) ||
		!pq_check("after LOAD (new conn)", conninfo, NULL, NULL, "SELECT 3", 3))
		goto done;

	/* 4. DuckLake with a DuckDB-file catalog. */
	path = sql_printf("%s/meta.ducklake", work_dir);
	data_path = sql_printf("%s/data_file/", work_dir);
	if (!attach_lake(con, "lake_file", path, data_path) ||
		!exercise_lake(con, "lake_file"))
		goto done;
	free(path);
	free(data_path);
	path = NULL;
	data_path = NULL;

	/* 5. DuckLake with a PostgreSQL catalog, via the extension's libpq. */
	path = sql_printf("postgres:%s", conninfo);
	data_path = sql_printf("%s/data_pg/", work_dir);
	if (!attach_lake(con, "lake_pg", path, data_path) ||
		!exercise_lake(con, "lake_pg"))
		goto done;

	/* 6. Our libpq sees the catalog the extension wrote, both still live. */
	if (!pq_check("after ATTACH (held conn)", conninfo, held, NULL,
				  "SELECT count(*) FROM information_schema.tables "
				  "WHERE table_name = 'ducklake_table'", 1) ||
		!pq_check("after ATTACH (new conn)", conninfo, NULL, NULL,
				  "SELECT count(*) FROM ducklake_table "
				  "WHERE table_name = 'smoke' AND end_snapshot IS NULL", 1))
		goto done;
	if (!pq_show(held, "server sees client connections",
				 "SELECT string_agg(format('pid %s app=%s ssl=%s %s', a.pid, "
				 "nullif(a.application_name, ''), s.ssl, "
				 "coalesce(s.version, '-')), ', ' ORDER BY a.pid) "
				 "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
				 "WHERE a.backend_type = 'client backend'"))
		goto done;
	if (!duck_check_count(con, "SELECT count(*) FROM lake_pg.smoke",
						  SMOKE_ROWS))
		goto done;

	/* 7. Tear DuckDB down; the system libpq must still work. */
	duckdb_disconnect(&con);
	duckdb_close(&db);
	con = NULL;
	db = NULL;
	if (!pq_check("after duckdb_close (held conn)", conninfo, held, NULL,
				  "SELECT 4", 4) ||
		!pq_check("after duckdb_close (new conn)", conninfo, NULL, NULL,
				  "SELECT 5", 5))
		goto done;

	printf("duckdb smoke: ok\n");
	rc = 0;

done:
	free(path);
	free(data_path);
	if (con != NULL)
		duckdb_disconnect(&con);
	if (db != NULL)
		duckdb_close(&db);
	if (config != NULL)
		duckdb_destroy_config(&config);
	if (held != NULL)
		PQfinish(held);
	return rc;
}
