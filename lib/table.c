/* table - see table.h.
 *
 * Cells are stored as heap strings in one flat array, row-major, with
 * 'n_columns' entries per row; a NULL cell prints as empty. */
/* _GNU_SOURCE (vasprintf) comes from the build. */
#include "lib/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct table_column {
    char *heading;
    enum table_align align;
};

struct table {
    struct table_column *columns;
    size_t n_columns;

    char **cells;               /* n_rows * n_columns, row-major. */
    size_t n_rows;
    size_t allocated_rows;
    size_t next_cell;           /* Column index of the next table_add_cell(). */
};

/* Reports an allocation failure and aborts: vsctl cannot do anything useful
 * without memory. */
static void
table_oom(void)
{
    fputs("vsctl: out of memory\n", stderr);
    abort();
}

/* realloc() that never returns NULL. */
static void *
table_xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        table_oom();
    }
    return p;
}

/* strdup() that never returns NULL. */
static char *
table_xstrdup(const char *s)
{
    char *copy = strdup(s);
    if (!copy) {
        table_oom();
    }
    return copy;
}

struct table *
table_create(void)
{
    struct table *t = calloc(1, sizeof *t);
    if (!t) {
        table_oom();
    }
    return t;
}

void
table_destroy(struct table *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
        free(t->cells[i]);
    }
    for (size_t i = 0; i < t->n_columns; i++) {
        free(t->columns[i].heading);
    }
    free(t->cells);
    free(t->columns);
    free(t);
}

void
table_add_column(struct table *t, const char *heading, enum table_align align)
{
    t->columns = table_xrealloc(t->columns,
                                (t->n_columns + 1) * sizeof *t->columns);
    t->columns[t->n_columns].heading = table_xstrdup(heading);
    t->columns[t->n_columns].align = align;
    t->n_columns++;
}

void
table_add_row(struct table *t)
{
    if (t->n_rows == t->allocated_rows) {
        t->allocated_rows = t->allocated_rows ? 2 * t->allocated_rows : 16;
        t->cells = table_xrealloc(t->cells, t->allocated_rows * t->n_columns
                                            * sizeof *t->cells);
    }
    memset(&t->cells[t->n_rows * t->n_columns], 0,
           t->n_columns * sizeof *t->cells);
    t->n_rows++;
    t->next_cell = 0;
}

void
table_add_cell(struct table *t, const char *fmt, ...)
{
    if (!t->n_rows || t->next_cell >= t->n_columns) {
        return;
    }

    va_list args;
    va_start(args, fmt);
    char *s;
    if (vasprintf(&s, fmt, args) < 0) {
        table_oom();
    }
    va_end(args);

    char **cell = &t->cells[(t->n_rows - 1) * t->n_columns + t->next_cell];
    free(*cell);
    *cell = s;
    t->next_cell++;
}

size_t
table_n_rows(const struct table *t)
{
    return t->n_rows;
}

/* Prints one line of 'n_columns' strings from 'line' (NULL = empty) padded
 * to 'widths', two spaces between columns, without trailing blanks. */
static void
table_print_line(const struct table *t, char *const *line, const size_t *widths,
                 FILE *stream)
{
    size_t pending_blanks = 0;

    for (size_t c = 0; c < t->n_columns; c++) {
        const char *s = line[c] ? line[c] : "";
        size_t len = strlen(s);
        size_t pad = widths[c] > len ? widths[c] - len : 0;
        int last = c + 1 == t->n_columns;

        if (c > 0) {
            pending_blanks += 2;
        }
        if (t->columns[c].align == TABLE_RIGHT) {
            pending_blanks += pad;
            pad = 0;
        }
        if (len) {
            fprintf(stream, "%*s%s", (int) pending_blanks, "", s);
            pending_blanks = 0;
        }
        if (!last) {
            pending_blanks += pad;
        }
    }
    fputc('\n', stream);
}

void
table_print(const struct table *t, FILE *stream)
{
    size_t *widths = calloc(t->n_columns ? t->n_columns : 1, sizeof *widths);
    char **headings = calloc(t->n_columns ? t->n_columns : 1, sizeof *headings);
    if (!widths || !headings) {
        table_oom();
    }

    for (size_t c = 0; c < t->n_columns; c++) {
        headings[c] = t->columns[c].heading;
        widths[c] = strlen(headings[c]);
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_columns; c++) {
            const char *s = t->cells[r * t->n_columns + c];
            if (s && strlen(s) > widths[c]) {
                widths[c] = strlen(s);
            }
        }
    }

    table_print_line(t, headings, widths, stream);
    for (size_t r = 0; r < t->n_rows; r++) {
        table_print_line(t, &t->cells[r * t->n_columns], widths, stream);
    }

    free(headings);
    free(widths);
}
