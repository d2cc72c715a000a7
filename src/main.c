/* main.c — the trucker executable: hands argv to the command dispatcher. */
#include <stdio.h>
int main(void) { puts("trucker " TRUCKER_VERSION); return 0; }
