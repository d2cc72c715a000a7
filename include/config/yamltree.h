/*
 * yamltree.h — a YAML (or JSON) document as a tree of positioned nodes.
 *
 * libyaml parses; this module keeps what configuration checking needs: each
 * node's kind, its scalar text exactly as written (YAML type resolution is
 * left to the schema, so `pass: 0123` stays "0123"), whether it was quoted,
 * and its line and column in the original file (after mapping back through
 * trk_expand, when the text was templated).  Duplicate keys are errors.
 */
#ifndef TRK_CONFIG_YAMLTREE_H
#define TRK_CONFIG_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "config/expand.h"

typedef enum trk_ykind
{
	TRK_Y_NULL,					/* empty, ~ or null, unquoted */
	TRK_Y_SCALAR,
	TRK_Y_SEQ,
	TRK_Y_MAP
} trk_ykind_t;

typedef struct trk_ynode trk_ynode_t;

typedef struct trk_ypair
{
	trk_ynode_t *key;			/* always a scalar */
	trk_ynode_t *value;
} trk_ypair_t;

struct trk_ynode
{
	trk_ykind_t kind;
	int			line;
	int			col;
	char	   *text;			/* SCALAR: owned, NUL-terminated */
	size_t		len;
	bool		quoted;
	trk_ynode_t **items;		/* SEQ: owned */
	trk_ypair_t *pairs;			/* MAP: owned, in document order */
	size_t		n;
};

/*
 * trk_yaml_parse parses text into a tree.  map may be NULL (no templating).
 * Returns the owned root (a TRK_Y_NULL node for an empty document), or NULL
 * after adding an error to diags.
 */
trk_ynode_t *trk_yaml_parse(const char *file, const char *text, size_t len,
							const trk_srcmap_t *map, trk_diags_t *diags);

/* trk_ymap_get returns the value of key in a map node, or NULL. */
const trk_ynode_t *trk_ymap_get(const trk_ynode_t *map, const char *key);

const char *trk_ykind_name(trk_ykind_t kind);

void		trk_ynode_free(trk_ynode_t *node);

#endif
