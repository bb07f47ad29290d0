/* table - a tiny text table formatter for vsctl's human-readable output.
 *
 * A table has columns (a heading and an alignment each) and rows of cells.
 * Cells are added left to right with table_add_cell(); table_print() sizes
 * every column to its widest cell or heading and prints the heading line
 * followed by the rows, columns separated by two spaces, no trailing blanks.
 * Used by vsctl; it knows nothing about JSON or JSON-RPC.
 *
 * Memory allocation failures abort the program (this is a short-lived
 * command-line tool). */
#ifndef VSWITCH_TABLE_H
#define VSWITCH_TABLE_H 1

#include <stdio.h>

enum table_align {
    TABLE_LEFT,
    TABLE_RIGHT,
};

struct table;

/* Returns a new empty table, to be freed with table_destroy(). */
struct table *table_create(void);
void table_destroy(struct table *);

/* Appends a column with 'heading' and alignment 'align'.  All columns must
 * be added before the first row. */
void table_add_column(struct table *, const char *heading, enum table_align align);

/* Starts a new row.  Cells not filled before the next row (or printing) are
 * printed empty. */
void table_add_row(struct table *);

/* Sets the next cell of the current row to the printf-style 'fmt'.  Cells
 * beyond the number of columns are ignored. */
void table_add_cell(struct table *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns the number of rows added so far. */
size_t table_n_rows(const struct table *);

/* Prints the heading line and every row to 'stream'. */
void table_print(const struct table *, FILE *stream);

#endif
