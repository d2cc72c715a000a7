/*
 * router.h — which pipelines a change to a source table goes to.
 *
 * A route maps a table as wal2json names it (schema, table) to the indexes
 * of the pipelines that read it.  A partitioned input arrives as changes to
 * its leaf partitions, so each leaf gets its parent's route.  A table can
 * also be known and ignored (another table in a schema trucker had to
 * subscribe to whole); an unknown table is neither.  Pure: no I/O.
 */
#ifndef TRK_ROUTE_ROUTER_H
#define TRK_ROUTE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct trk_route
{
	char	   *schema;			/* owned */
	char	   *table;			/* owned */
	int		   *pipelines;		/* owned; empty for an ignored table */
	size_t		npipelines;
	bool		leaf;			/* a partition of a partitioned input */
} trk_route_t;

typedef struct trk_router
{
	trk_route_t *routes;		/* owned */
	size_t		nroutes;
	size_t		caproutes;
	int		   *slots;			/* owned; open addressing, -1 = empty */
	size_t		nslots;
} trk_router_t;

/* trk_router_add sends (schema, table) to pipeline; -1 = known but ignored. */
void		trk_router_add(trk_router_t *r, const char *schema, const char *table,
						   int pipeline, bool leaf);

/* trk_router_find returns the route, or NULL for a table never added. */
const trk_route_t *trk_router_find(const trk_router_t *r, const char *schema,
								   const char *table);

void		trk_router_free(trk_router_t *r);

#endif
