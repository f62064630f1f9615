/* test_graph.c - `facenet graph` (issue 12): for the default model (weights/dlib-resnet)
 * and the keras-facenet-mini golden model, fused and --no-fuse,
 *  - the .dot output parses back with libcgraph (agmemread); every executed layer is a
 *    node, every folded layer is named in the label of the layer it was folded into,
 *    every input is an edge labelled with the producer's shape;
 *  - the blocks are clusters: Block35_1 .. Block8_6, Mixed_6a/7a (nested in their
 *    stages Block35, Block17, Block8) and the dlib ResNet's conv64_1 inside stage conv64;
 *    a block's interleaved branches are not;
 *  - the .svg output parses as XML (libxml2), is an <svg> document, and names every
 *    layer in its text;
 *  - bad output names are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgraph.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "facenet.h"
#include "lib/testutil.h"

static char *tmp, dlib_dir[4200], mini_json[4200], mini_h5[4200];

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    const char *m = getenv("FACENET_MODEL");
    snprintf(dlib_dir, sizeof dlib_dir, "%s", m && *m ? m : "weights/dlib-resnet");
    snprintf(mini_json, sizeof mini_json, "%s", tu_shared("golden/keras-facenet-mini/model.json"));
    snprintf(mini_h5, sizeof mini_h5, "%s", tu_shared("golden/keras-facenet-mini/seed11/model.h5"));
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

static int run_graph(int mini, int no_fuse, const char *out, char **err)
{
    char cmd[16000], *o;
    if (mini)
        snprintf(cmd, sizeof cmd, "%s graph --model-json %s --weights %s %s -o %s", tu_build("facenet"), mini_json,
                 mini_h5, no_fuse ? "--no-fuse" : "", out);
    else
        snprintf(cmd, sizeof cmd, "%s graph --model %s %s -o %s", tu_build("facenet"), dlib_dir,
                 no_fuse ? "--no-fuse" : "", out);
    int st = tu_run(cmd, &o, err);
    free(o);
    return st;
}

static fn_net *load(int mini, int no_fuse)
{
    fn_net *net;
    fn_err err = {0};
    char json[4300], h5[4300];
    snprintf(json, sizeof json, mini ? "%s" : "%s/model.json", mini ? mini_json : dlib_dir);
    snprintf(h5, sizeof h5, mini ? "%s" : "%s/model.h5", mini ? mini_h5 : dlib_dir);
    fn_load_opts o = {.model_json = json, .weights = h5, .no_fuse = no_fuse};
    if (fn_net_load(&o, &net, &err) || fn_net_plan(net, 1, NULL, &err))
        fail_msg("%s", err.msg);
    return net;
}

/* the executed layer computing folded layer i */
static int owner(const fn_net *net, int i)
{
    fn_layer_info li;
    while (!fn_net_layer_info(net, i, &li) && !li.executed && li.n_inputs)
        i = li.inputs[0];
    return i;
}

static void check_dot(int mini, int no_fuse)
{
    char path[4300], *err;
    snprintf(path, sizeof path, "%s/g%d%d.dot", tmp, mini, no_fuse);
    if (run_graph(mini, no_fuse, path, &err))
        fail_msg("graph -o %s: %s", path, err);
    free(err);
    char *text = tu_read(path, NULL);
    assert_non_null(text);
    Agraph_t *g = agmemread(text);
    if (!g)
        fail_msg("%s does not parse as DOT", path);
    fn_net *net = load(mini, no_fuse);
    int n = fn_net_n_layers(net), nodes = 0, edges = 0;
    for (int i = 0; i < n; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        if (!li.executed) {
            fn_layer_info oi;
            fn_net_layer_info(net, owner(net, i), &oi);
            Agnode_t *o = agnode(g, (char *)oi.name, 0);
            assert_non_null(o);
            char *label = agget(o, "label");
            char want[600];
            snprintf(want, sizeof want, "+ %s (", li.name);
            if (!label || !strstr(label, want))
                fail_msg("%s: folded layer %s is not named in %s's label", path, li.name, oi.name);
            continue;
        }
        Agnode_t *v = agnode(g, (char *)li.name, 0);
        if (!v)
            fail_msg("%s: no node for layer %s", path, li.name);
        nodes++;
        for (int j = 0; j < li.n_inputs; j++) {
            fn_layer_info si;
            fn_net_layer_info(net, owner(net, li.inputs[j]), &si);
            Agedge_t *e = agedge(g, agnode(g, (char *)si.name, 0), v, NULL, 0);
            if (!e)
                fail_msg("%s: no edge %s -> %s", path, si.name, li.name);
            char shape[64];
            fn_shape_str(&si.out_shape, shape, sizeof shape);
            assert_string_equal(agget(e, "label"), shape);
            edges++;
        }
    }
    assert_int_equal(agnnodes(g), nodes);
    assert_true(agnedges(g) <= edges && agnedges(g) >= nodes - 1);
    /* clusters */
    if (mini) {
        const char *blocks[] = {"Block35", "Block35_1", "Block35_5", "Block17", "Block17_10", "Block8", "Block8_6",
                                "Mixed_6a", "Mixed_7a"};
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
            char name[64];
            snprintf(name, sizeof name, "cluster_%s", blocks[b]);
            Agraph_t *sub = agsubg(g, name, 0);
            if (!sub) { /* nested: look one level down */
                for (Agraph_t *s = agfstsubg(g); s && !sub; s = agnxtsubg(s))
                    sub = agsubg(s, name, 0);
            }
            if (!sub)
                fail_msg("%s: no %s", path, name);
        }
        Agraph_t *stage = agsubg(g, "cluster_Block35", 0);
        assert_non_null(stage);
        Agraph_t *block = agsubg(stage, "cluster_Block35_1", 0);
        assert_non_null(block);
        assert_non_null(agsubnode(block, agnode(g, "Block35_1_Conv2d_1x1", 0), 0));
        assert_null(agsubg(block, "cluster_Block35_1_Branch", 0));
    } else {
        Agraph_t *stage = agsubg(g, "cluster_conv64", 0);
        assert_non_null(stage);
        Agraph_t *block = agsubg(stage, "cluster_conv64_1", 0);
        assert_non_null(block);
        assert_non_null(agsubnode(block, agnode(g, "conv64_1_conv1", 0), 0));
        assert_null(agsubnode(block, agnode(g, "conv64_2_conv1", 0), 0));
    }
    agclose(g);
    fn_net_free(net);
    free(text);
}

static void test_dot(void **state)
{
    (void)state;
    check_dot(0, 0);
    check_dot(0, 1);
    check_dot(1, 0);
    check_dot(1, 1);
}

static void collect_text(xmlNode *n, char ***texts, int *count, int *cap)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, (const xmlChar *)"text")) {
            if (*count == *cap) {
                *cap = *cap ? 2 * *cap : 1024;
                *texts = realloc(*texts, sizeof **texts * (size_t)*cap);
                assert_non_null(*texts);
            }
            (*texts)[(*count)++] = (char *)xmlNodeGetContent(n);
        }
        collect_text(n->children, texts, count, cap);
    }
}

static void check_svg(int mini)
{
    char path[4300], *err;
    snprintf(path, sizeof path, "%s/g%d.svg", tmp, mini);
    if (run_graph(mini, 0, path, &err))
        fail_msg("graph -o %s: %s", path, err);
    free(err);
    xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    if (!doc)
        fail_msg("%s is not well-formed XML", path);
    xmlNode *root = xmlDocGetRootElement(doc);
    assert_non_null(root);
    assert_string_equal((const char *)root->name, "svg");
    char **texts = NULL;
    int count = 0, cap = 0;
    collect_text(root, &texts, &count, &cap);
    fn_net *net = load(mini, 0);
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        char folded[600];
        snprintf(folded, sizeof folded, "+ %s (", li.name);
        int found = 0;
        for (int k = 0; k < count && !found; k++)
            found = !strcmp(texts[k], li.name) || !strncmp(texts[k], folded, strlen(folded));
        if (!found)
            fail_msg("%s: layer %s is not in the picture", path, li.name);
    }
    for (int k = 0; k < count; k++)
        xmlFree(texts[k]);
    free(texts);
    fn_net_free(net);
    xmlFreeDoc(doc);
}

static void test_svg(void **state)
{
    (void)state;
    check_svg(0);
    check_svg(1);
}

static void test_refused(void **state)
{
    (void)state;
    char path[4300], *err;
    snprintf(path, sizeof path, "%s/graph.png", tmp);
    assert_int_equal(run_graph(0, 0, path, &err), 2);
    assert_non_null(strstr(err, ".svg or .dot"));
    free(err);
    snprintf(path, sizeof path, "%s/no/such/dir/g.dot", tmp);
    assert_int_equal(run_graph(0, 0, path, &err), 2);
    assert_non_null(strstr(err, "cannot write"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
