/* cmd_graph.c - `facenet graph -o model.svg|model.dot`: the layer graph as the engine
 * runs it, through Graphviz (cgraph builds it, gvc lays it out and draws the SVG; a
 * .dot file is written as cgraph holds it, without layout).
 *
 * One box per executed layer (the layers folded into it - BatchNorm, activations -
 * listed inside it in italics; --no-fuse draws every Keras layer), one edge per input
 * labelled with the tensor's shape, residual Adds and Concatenates coloured.  Blocks
 * become clusters, found from the layer names alone: every prefix of a name at a '_'
 * (Block35_1, Block35, Mixed_6a, conv64_1, conv64) that two or more boxes share and
 * whose boxes are consecutive in execution order is a cluster, nested as the
 * prefixes nest - so Inception-ResNet's blocks and the dlib ResNet's stages come out
 * without knowing either model. */
#include <gvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/trace.h"

typedef struct {
    char *prefix;
    int first, last;   /* range of drawn positions it covers */
    int parent;        /* enclosing cluster, -1 for the root */
    Agraph_t *g;
} cluster;

/* name belongs to the group of prefix p: it is p or starts with p + "_" */
static int in_group(const char *name, const char *p, size_t plen)
{
    return !strncmp(name, p, plen) && (name[plen] == '\0' || name[plen] == '_');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Clusters over the drawn layers (names in execution order); -1 when out of memory. */
static int find_clusters(char **names, int n, cluster **out, int *n_out)
{
    size_t cap = 0, nc = 0;
    char **cand = NULL;
    for (int i = 0; i < n; i++)
        for (const char *u = strchr(names[i], '_'); u; u = strchr(u + 1, '_')) {
            if (nc == cap) {
                cap = cap ? 2 * cap : 256;
                char **c2 = realloc(cand, cap * sizeof *c2);
                if (!c2)
                    goto oom;
                cand = c2;
            }
            if (!(cand[nc] = strndup(names[i], (size_t)(u - names[i]))))
                goto oom;
            nc++;
        }
    if (nc)
        qsort(cand, nc, sizeof *cand, cmp_str);
    cluster *cl = calloc(nc + 1, sizeof *cl);
    if (!cl)
        goto oom;
    int k = 0;
    for (size_t c = 0; c < nc; c++) {
        if (c && !strcmp(cand[c], cand[c - 1]))
            continue;
        size_t plen = strlen(cand[c]);
        int first = -1, last = -1, count = 0;
        for (int i = 0; i < n; i++)
            if (in_group(names[i], cand[c], plen)) {
                first = first < 0 ? i : first;
                last = i;
                count++;
            }
        if (count < 2 || last - first + 1 != count)
            continue; /* one box, or boxes apart: no block */
        int same = 0; /* a shorter prefix with the same boxes (sorted order puts it first) */
        for (int j = 0; j < k && !same; j++)
            same = cl[j].first == first && cl[j].last == last && in_group(cand[c], cl[j].prefix, strlen(cl[j].prefix));
        if (same)
            continue;
        cl[k] = (cluster){strdup(cand[c]), first, last, -1, NULL};
        if (!cl[k++].prefix) {
            for (int j = 0; j < k; j++)
                free(cl[j].prefix);
            free(cl);
            goto oom;
        }
    }
    /* An indexed family (every box continues the prefix with a number: Block35_1..5,
     * or a block's Branch_0..2) is a cluster only when its members are clusters
     * themselves: Block35 is a stage of blocks, but a block's branches interleave in
     * execution order, and their sum is no unit worth a box. */
    char *drop = calloc((size_t)k + 1, 1);
    if (!drop) {
        for (int j = 0; j < k; j++)
            free(cl[j].prefix);
        free(cl);
        goto oom;
    }
    for (int c = 0; c < k; c++) {
        size_t plen = strlen(cl[c].prefix);
        int indexed = 1, child = 0;
        for (int i = cl[c].first; i <= cl[c].last && indexed; i++) {
            const char *t = names[i] + plen;
            indexed = *t == '_' && t[1] >= '0' && t[1] <= '9';
            for (t++; indexed && *t && *t != '_'; t++)
                indexed = *t >= '0' && *t <= '9';
        }
        for (int j = 0; j < k && indexed && !child; j++)
            child = j != c && in_group(cl[j].prefix, cl[c].prefix, plen) && !strchr(cl[j].prefix + plen + 1, '_');
        drop[c] = indexed && !child;
    }
    int kept = 0;
    for (int c = 0; c < k; c++) {
        if (drop[c])
            free(cl[c].prefix);
        else
            cl[kept++] = cl[c];
    }
    free(drop);
    k = kept;
    /* parents: the longest enclosing prefix */
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            size_t lb = strlen(cl[b].prefix);
            if (a != b && lb < strlen(cl[a].prefix) && in_group(cl[a].prefix, cl[b].prefix, lb) &&
                (cl[a].parent < 0 || lb > strlen(cl[cl[a].parent].prefix)))
                cl[a].parent = b;
        }
    for (size_t c = 0; c < nc; c++)
        free(cand[c]);
    free(cand);
    *out = cl;
    *n_out = k;
    return 0;
oom:
    for (size_t c = 0; c < nc; c++)
        free(cand[c]);
    free(cand);
    return -1;
}

/* s with &, <, > and " escaped for an HTML-like Graphviz label */
static void html_cat(char *buf, size_t cap, const char *s)
{
    size_t k = strlen(buf);
    for (; *s && k + 7 < cap; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (e) {
            memcpy(buf + k, e, strlen(e));
            k += strlen(e);
        } else {
            buf[k++] = *s;
        }
    }
    buf[k] = '\0';
}

static const char *fill_for(const char *cls)
{
    if (!strcmp(cls, "InputLayer"))
        return "gray90";
    if (strstr(cls, "Conv"))
        return "lightblue";
    if (!strcmp(cls, "Add") || !strcmp(cls, "Lambda"))
        return "orange";
    if (!strcmp(cls, "Concatenate"))
        return "palegreen";
    if (strstr(cls, "Pool"))
        return "lightyellow";
    if (!strcmp(cls, "Dense"))
        return "plum";
    return "white";
}

/* The graph of net into g: nodes in their clusters, edges with shapes. */
static int build(fn_net *net, Agraph_t *g, fn_err *err)
{
    int n = fn_net_n_layers(net), nd = 0, ncl = 0, rc = -1;
    int *pos = malloc(sizeof(int) * (size_t)n);
    char **names = malloc(sizeof(char *) * (size_t)n);
    Agnode_t **node = calloc((size_t)n, sizeof *node);
    cluster *cl = NULL;
    if (!pos || !names || !node)
        goto done;
    for (int i = 0; i < n; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        pos[i] = li.executed ? nd : -1;
        if (li.executed)
            names[nd++] = (char *)li.name;
    }
    if (find_clusters(names, nd, &cl, &ncl))
        goto done;
    Agsym_t *lab = agattr(g, AGNODE, "label", "\\N"), *fill = agattr(g, AGNODE, "fillcolor", "white");
    Agsym_t *elab = agattr(g, AGEDGE, "label", "");
    for (int c = 0; c < ncl; c++) { /* parents come before children: shorter prefixes */
        int order[64], depth = 0;
        for (int p = c; p >= 0 && depth < 64 && !cl[p].g; p = cl[p].parent)
            order[depth++] = p;
        while (depth--) {
            cluster *C = &cl[order[depth]];
            Agraph_t *parent = C->parent >= 0 ? cl[C->parent].g : g;
            char name[512];
            snprintf(name, sizeof name, "cluster_%s", C->prefix);
            if (!(C->g = agsubg(parent, name, 1)))
                goto done;
            agsafeset(C->g, "label", C->prefix, "");
        }
    }
    for (int i = 0; i < n; i++) {
        if (pos[i] < 0)
            continue;
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        Agraph_t *home = g; /* the innermost cluster holding it */
        size_t best = 0;
        for (int c = 0; c < ncl; c++)
            if (pos[i] >= cl[c].first && pos[i] <= cl[c].last && strlen(cl[c].prefix) >= best) {
                best = strlen(cl[c].prefix);
                home = cl[c].g;
            }
        if (!(node[i] = agnode(home, (char *)li.name, 1)))
            goto done;
        char html[8192] = "<B>", shape[64];
        html_cat(html, sizeof html, li.name);
        strncat(html, "</B><BR/>", sizeof html - strlen(html) - 1);
        html_cat(html, sizeof html, li.class_name);
        if (!strncmp(li.op, "Lambda:", 7)) { /* what the Lambda was recognised as */
            html_cat(html, sizeof html, " (");
            html_cat(html, sizeof html, li.op + 7);
            html_cat(html, sizeof html, ")");
        }
        if (li.macs > 0) {
            char m[64];
            snprintf(m, sizeof m, " &#183; %.3g M MACs", li.macs / 1e6);
            strncat(html, m, sizeof html - strlen(html) - 1);
        }
        if (li.out_scale != 1.0f) {
            snprintf(shape, sizeof shape, "<BR/><I>x%g residual scale folded in</I>", (double)li.out_scale);
            strncat(html, shape, sizeof html - strlen(html) - 1);
        }
        for (int f = 0; f < n; f++) { /* the layers folded into it */
            fn_layer_info fi;
            fn_net_layer_info(net, f, &fi);
            if (fi.executed || fn_trace_owner(net, f) != i)
                continue;
            strncat(html, "<BR/><FONT POINT-SIZE=\"8\" COLOR=\"gray30\"><I>+ ", sizeof html - strlen(html) - 1);
            html_cat(html, sizeof html, fi.name);
            html_cat(html, sizeof html, " (");
            html_cat(html, sizeof html, fi.class_name);
            strncat(html, ", folded)</I></FONT>", sizeof html - strlen(html) - 1);
        }
        char *h = agstrdup_html(g, html);
        agxset(node[i], lab, h);
        agstrfree(g, h);
        agxset(node[i], fill, (char *)fill_for(li.class_name));
    }
    for (int i = 0; i < n; i++) {
        if (pos[i] < 0)
            continue;
        fn_layer_info li, si;
        fn_net_layer_info(net, i, &li);
        for (int j = 0; j < li.n_inputs; j++) {
            int s = fn_trace_owner(net, li.inputs[j]);
            if (s < 0 || s >= n || !node[s])
                continue;
            fn_net_layer_info(net, s, &si);
            char shape[64];
            fn_shape_str(&si.out_shape, shape, sizeof shape);
            Agedge_t *e = agedge(g, node[s], node[i], NULL, 1);
            if (!e)
                goto done;
            agxset(e, elab, shape);
        }
    }
    rc = 0;
done:
    if (rc)
        fn_fail(err, FN_E_NOMEM, "out of memory building the graph");
    for (int c = 0; c < ncl; c++)
        free(cl[c].prefix);
    free(cl);
    free(pos);
    free(names);
    free(node);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

int fn_cmd_graph(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("graph", argc, argv, &a);
    if (pr || a.n_pos) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : pr < 0 ? FN_EXIT_ERROR : fn_cli_fail("graph: takes no operands (see facenet graph --help)");
    }
    fn_model_args m = a.model;
    m.arch_only = 1;
    const char *out = fn_cli_str(&a, "output"), *sv = fn_cli_str(&a, "input-shape");
    fn_shape shape;
    int have_shape = sv && !fn_cli_parse_shape(sv, &shape);
    int bad = fn_cli_check_inputs(&a, &m, 0);
    fn_cli_args_free(&a);
    if (bad)
        return FN_EXIT_ERROR;
    if (!out)
        return fn_cli_fail("graph: give -o FILE.svg or -o FILE.dot");
    int svg = ends_with(out, ".svg");
    if (!svg && !ends_with(out, ".dot") && !ends_with(out, ".gv"))
        return fn_cli_fail("graph: %s: the output is .svg or .dot", out);
    fn_net *net;
    fn_err err = {0};
    if (fn_cli_load_model(&m, &net, &err))
        return fn_cli_fail_err(&err);
    fn_shape decl = fn_net_input_shape(net);
    int known = 1;
    for (int d = 0; d < decl.rank; d++)
        known &= decl.d[d] > 0;
    if ((have_shape || known) && fn_net_plan(net, 1, have_shape ? &shape : NULL, &err)) {
        fn_net_free(net);
        return fn_cli_fail_err(&err);
    }
    Agraph_t *g = agopen("facenet", Agdirected, NULL);
    int rc = FN_EXIT_ERROR;
    if (!g) {
        fn_net_free(net);
        return fn_cli_fail("out of memory");
    }
    char title[512], in[64];
    fn_shape_str(&decl, in, sizeof in);
    snprintf(title, sizeof title, "%s - %d layers, input %s, %.3g G MACs%s", fn_net_source(net), fn_net_n_layers(net),
             in, fn_net_macs(net) / 1e9, m.no_fuse ? " (every Keras layer)" : " (BatchNorm and activations folded)");
    agsafeset(g, "label", title, "");
    agsafeset(g, "labelloc", "t", "");
    agsafeset(g, "fontname", "Helvetica", "");
    agattr(g, AGNODE, "shape", "box");
    agattr(g, AGNODE, "style", "rounded,filled");
    agattr(g, AGNODE, "fontname", "Helvetica");
    agattr(g, AGNODE, "fontsize", "10");
    agattr(g, AGEDGE, "fontname", "Helvetica");
    agattr(g, AGEDGE, "fontsize", "8");
    agattr(g, AGRAPH, "style", "rounded");
    agattr(g, AGRAPH, "color", "gray50");
    if (build(net, g, &err)) {
        rc = fn_cli_fail_err(&err);
    } else if (svg) {
        GVC_t *gvc = gvContext();
        if (!gvc || gvLayout(gvc, g, "dot"))
            rc = fn_cli_fail("graph: Graphviz could not lay out the graph");
        else if (gvRenderFilename(gvc, g, "svg", out))
            rc = fn_cli_fail("graph: %s: Graphviz could not write the SVG", out);
        else
            rc = FN_EXIT_OK;
        if (gvc) {
            gvFreeLayout(gvc, g);
            gvFreeContext(gvc);
        }
    } else {
        FILE *f = fopen(out, "w");
        int bad = !f || agwrite(g, f) == EOF;
        if ((f && fclose(f)) || bad)
            rc = fn_cli_fail("graph: %s: cannot write", out);
        else
            rc = FN_EXIT_OK;
    }
    agclose(g);
    fn_net_free(net);
    return rc;
}
