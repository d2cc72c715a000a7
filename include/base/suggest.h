/*
 * suggest.h — "did you mean" for misspelt keys, variables and names.
 */
#ifndef TRK_BASE_SUGGEST_H
#define TRK_BASE_SUGGEST_H

#include <stddef.h>

/*
 * trk_suggest returns the candidate closest to word by edit distance
 * (insertions, deletions, substitutions and adjacent transpositions), or NULL
 * when none is close enough to be a plausible typo: distance at most 1 for
 * words of up to 4 characters, at most a third of the length otherwise.
 * The result is borrowed from candidates.
 */
const char *trk_suggest(const char *word, const char *const *candidates,
						size_t ncandidates);

#endif
