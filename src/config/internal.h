/*
 * internal.h — helpers shared by the config loaders (not a public interface).
 */
#ifndef TRK_CONFIG_INTERNAL_H
#define TRK_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/yamltree.h"

/* One key of a section: the declarative table every loader reads. */
typedef enum keytype
{
	KT_STRING,
	KT_INT,
	KT_PORT,
	KT_SIZE,					/* bytes, with an optional kB/MB/GB unit */
	KT_ENUM,					/* one of enum_values ("a|b|c") */
	KT_LIST,					/* a list of strings */
	KT_MAP						/* a nested section or a string map */
} keytype_t;

typedef struct keydef
{
	const char *name;
	keytype_t	type;
	bool		required;
	bool		pathable;		/* has a <name>_path variant read from a file */
	const char *enum_values;
	const char *default_text;	/* for docs and --keys; NULL = none */
	const char *help;
} keydef_t;

typedef struct section
{
	const char *title;			/* "connections[]", "input", … */
	const keydef_t *keys;
	size_t		nkeys;
} section_t;

extern const section_t trk_config_sections[];
extern const size_t trk_config_nsections;

/* A located scalar: the value and where the user wrote it. */
typedef struct located
{
	const char *text;			/* borrowed; NULL when absent */
	int			line;
	int			col;
	bool		hidden;			/* read from a file or the environment: a
								 * possible secret, never quoted in messages */
} located_t;

/*
 * check_keys reports every key of map that section does not declare (with a
 * "did you mean"), accepting <key>_path for pathable keys.  Returns the
 * number of errors.
 */
int			trk_cfg_check_keys(const char *file, const trk_ynode_t *map,
							   const section_t *sec, trk_diags_t *diags);

/* trk_cfg_scalar: the scalar at key, NULL if absent/null; errors if not scalar. */
const trk_ynode_t *trk_cfg_scalar(const char *file, const trk_ynode_t *map,
								  const char *key, trk_diags_t *diags);

bool		trk_cfg_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
bool		trk_cfg_parse_size(const char *s, int64_t *out);
bool		trk_cfg_enum_ok(const char *value, const char *values);

const section_t *trk_cfg_section(const char *title);

/*
 * trk_cfg_parse_table splits "schema.table" (or "table", schema public),
 * folding unquoted parts to lower case and honouring "quoted" parts.
 * Returns false with a reason in err (static text).
 */
bool		trk_cfg_parse_table(const char *s, trk_table_name_t *out, const char **err);

/*
 * trk_cfg_load_connections_into parses the connections file into cfg.
 * Returns the number of errors; an unreadable file is one of them.
 */
int			trk_cfg_load_connections_into(trk_config_t *cfg, const char *file,
										  trk_diags_t *diags);

/*
 * trk_cfg_load_pipeline_into reads one pipeline folder and, when it has no
 * error, appends it to cfg.  have_connections says whether cfg's
 * connections were read, so references to them can be checked.
 */
int			trk_cfg_load_pipeline_into(trk_config_t *cfg, bool have_connections,
									   const char *dir, const char *name,
									   trk_diags_t *diags);
void		trk_cfg_pipeline_clear(trk_pipeline_t *p);

/* trk_cfg_connections_from_text: the same, from text (fuzzing, tests). */
int			trk_cfg_connections_from_text(trk_config_t *cfg, const char *file,
										  const char *text, size_t len,
										  trk_diags_t *diags);

/*
 * trk_cfg_pipeline_from_text checks a config.yml given as text into p (its
 * SQL files are not read).  Returns 0 when it added no error.
 */
int			trk_cfg_pipeline_from_text(const trk_config_t *cfg, bool have_connections,
									   const char *file, const char *text, size_t len,
									   trk_pipeline_t *p, trk_diags_t *diags);

/* trk_cfg_connection_clear frees what a connection owns. */
void		trk_cfg_connection_clear(trk_connection_t *c);

#endif
