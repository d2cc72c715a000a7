/*
 * online.h — `trucker check --online`: the checks that need the databases.
 *
 * For every pipeline: the input table exists and logs enough for UPDATE and
 * DELETE (a primary key or REPLICA IDENTITY FULL — wal2json silently drops
 * them otherwise); the output table exists and its key has a unique index;
 * the default mirror's columns exist in the output; every column a template
 * names exists; and every SQL file prepares on the database it runs on.
 */
#ifndef TRK_CLI_ONLINE_H
#define TRK_CLI_ONLINE_H

#include "base/diag.h"
#include "config/config.h"

/* trk_online_check adds what it finds to diags; returns the error count. */
int			trk_online_check(const trk_config_t *cfg, trk_diags_t *diags);

#endif
