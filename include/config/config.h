/*
 * config.h — the configuration folder: trucker.yml and one folder per pipeline.
 *
 *     DIR/trucker.yml            connections (templated: env(), file())
 *     DIR/<pipeline>/config.yml  input, output, operations, batch, on_error
 *     DIR/<pipeline>/<op>.sql    transform, insert, update, delete templates
 *
 * trk_config_load reads and checks everything it can without a database and
 * reports every problem it finds into diags, each with file:line:col.  The
 * keys of each section are declared once, in tables in keys.c, which the
 * loader, the "did you mean" hints and `trucker check --keys` all read.
 */
#ifndef TRK_CONFIG_CONFIG_H
#define TRK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/diag.h"
#include "template/template.h"

typedef enum trk_adapter
{
	TRK_ADAPTER_POSTGRES = 0,
	TRK_ADAPTER_DUCKLAKE
} trk_adapter_t;

typedef enum trk_catalog_kind
{
	TRK_CATALOG_NONE = 0,
	TRK_CATALOG_DUCKDB_FILE,	/* catalog: a file path */
	TRK_CATALOG_CONNECTION,		/* catalog: the name of a postgres connection */
	TRK_CATALOG_CONNINFO		/* catalog: postgres:<conninfo> */
} trk_catalog_kind_t;

typedef struct trk_kv
{
	char	   *key;			/* owned */
	char	   *value;			/* owned */
} trk_kv_t;

/* Where an endpoint is: the primary, or its replica (replica_* keys). */
typedef struct trk_endpoint
{
	char	   *host;			/* owned; NULL = libpq's default */
	int			port;
	char		port_text[8];	/* port as text, for libpq */
	char	   *database;		/* owned; NULL = libpq's default */
	char	   *user;			/* owned */
	char	   *pass;			/* owned; secret: never logged */
} trk_endpoint_t;

typedef struct trk_connection
{
	char	   *name;			/* owned */
	trk_adapter_t adapter;
	trk_endpoint_t primary;
	bool		has_replica;
	trk_endpoint_t replica;		/* defaults filled from primary */
	int64_t		replica_wait_ms;	/* how long a transform waits for the
									 * replica to replay its change */
	char	   *sslmode;		/* owned; NULL = libpq's default */
	trk_kv_t   *options;		/* owned; extra libpq keywords */
	size_t		noptions;
	char	   *slot;			/* owned; replication slot name */
	trk_catalog_kind_t catalog_kind;
	char	   *catalog;		/* owned: path, connection name or conninfo */
	char	   *data_path;		/* owned; resolved against trucker.yml's dir
								 * unless it is a URL */
	int			line;			/* position of the entry in trucker.yml */
	int			col;
} trk_connection_t;

typedef enum trk_op
{
	TRK_OP_INSERT = 1 << 0,
	TRK_OP_UPDATE = 1 << 1,
	TRK_OP_DELETE = 1 << 2
} trk_op_t;

#define TRK_OP_ALL (TRK_OP_INSERT | TRK_OP_UPDATE | TRK_OP_DELETE)

typedef enum trk_on_error
{
	TRK_ON_ERROR_STOP = 0,
	TRK_ON_ERROR_DEAD_LETTER
} trk_on_error_t;

/* A qualified table name, unquoted parts as PostgreSQL stores them. */
typedef struct trk_table_name
{
	char	   *schema;			/* owned */
	char	   *name;			/* owned */
} trk_table_name_t;

typedef enum trk_sql_kind
{
	TRK_SQL_TRANSFORM = 0,
	TRK_SQL_INSERT,
	TRK_SQL_UPDATE,
	TRK_SQL_DELETE,
	TRK_SQL_COUNT
} trk_sql_kind_t;

/* A position in a configuration file, for diagnostics found later. */
typedef struct trk_pos
{
	int			line;
	int			col;
} trk_pos_t;

typedef struct trk_pipeline
{
	char	   *name;			/* owned; the folder's name */
	char	   *dir;			/* owned; the folder's path */
	char	   *config_file;	/* owned; path of config.yml / config.json */
	char	   *input_connection;	/* owned */
	trk_table_name_t input_table;
	char	   *output_connection;	/* owned */
	trk_table_name_t output_table;
	char	  **key;			/* owned; NULL = the input's primary key */
	size_t		nkey;
	unsigned	operations;		/* TRK_OP_* bits */
	int64_t		batch_max_rows;
	int64_t		batch_max_bytes;
	int64_t		batch_max_delay_ms;
	int64_t		backfill_workers;	/* connections copying one table at once */
	trk_on_error_t on_error;
	char	  **redact;			/* owned; columns kept out of the log */
	size_t		nredact;
	trk_template_t *sql[TRK_SQL_COUNT]; /* owned; NULL when the file is absent */
	char	   *sql_file[TRK_SQL_COUNT];	/* owned; path when present */
	trk_pos_t	input_pos;		/* of input.table in config_file */
	trk_pos_t	output_pos;		/* of output.table */
	trk_pos_t	key_pos;		/* of output.key, or of output.table */
	char		fingerprint[17];	/* hex; of input, output, key, operations
									 * and SQL files: what the output holds */
} trk_pipeline_t;

typedef struct trk_config
{
	char	   *dir;			/* owned; the pipelines folder */
	char	   *file;			/* owned; the trucker.yml that was read */
	trk_connection_t *connections;	/* owned */
	size_t		nconnections;
	size_t		capconnections;
	trk_pipeline_t *pipelines;	/* owned; sorted by name */
	size_t		npipelines;
	size_t		cappipelines;
} trk_config_t;

/*
 * trk_config_load reads DIR with its connections file (file: NULL for
 * DIR/trucker.yml).  Returns an owned config, or NULL when at least one error
 * was added to diags; warnings may be added either way.
 */
trk_config_t *trk_config_load(const char *dir, const char *file, trk_diags_t *diags);

/* trk_config_load_connections reads only a connections file. */
trk_config_t *trk_config_load_connections(const char *file, trk_diags_t *diags);

/*
 * trk_config_load_pipeline reads one pipeline folder against an already
 * loaded set of connections, adding it to cfg.  Returns 0 or -1.
 */
int			trk_config_load_pipeline(trk_config_t *cfg, const char *dir,
									 const char *name, trk_diags_t *diags);

/*
 * trk_config_check_graph reports pipelines whose outputs and inputs form a
 * cycle (chains are allowed), and pipelines reading or writing trucker's own
 * schema.  Returns 0, or -1 after adding errors.  trk_config_load runs it.
 */
int			trk_config_check_graph(const trk_config_t *cfg, trk_diags_t *diags);

const trk_connection_t *trk_config_connection(const trk_config_t *cfg, const char *name);
const trk_pipeline_t *trk_config_pipeline(const trk_config_t *cfg, const char *name);

void		trk_config_free(trk_config_t *cfg);

/*
 * trk_connection_params fills libpq keyword/value arrays (NULL-terminated,
 * room for TRK_CONN_MAX_PARAMS entries) for the primary or the replica.
 * extra_kw/extra_val (may be NULL) are appended, e.g. "replication".  The
 * strings are borrowed from conn.  Never build a conninfo string instead: a
 * password holding a quote or space would change its meaning.
 */
#define TRK_CONN_MAX_PARAMS 64
size_t		trk_connection_params(const trk_connection_t *conn, bool replica,
								  const char **keywords, const char **values,
								  const char *const *extra_kw,
								  const char *const *extra_val);

const char *trk_sql_kind_file(trk_sql_kind_t kind);	/* "transform.sql", … */
const char *trk_op_name(trk_op_t op);	/* "insert", "update", "delete" */

/* trk_config_print_keys writes the key tables as Markdown (for the docs). */
void		trk_config_print_keys(FILE *out);

#endif
