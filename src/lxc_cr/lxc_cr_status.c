/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_status.c: read what libvirt knows of an LXC domain
 *
 * The LXC driver keeps a running domain's state in its status file,
 * STATEDIR/NAME.xml (/run/libvirt/lxc/NAME.xml):
 *
 *   <domstatus state='running' reason='booted' pid='CONTROLLER'>
 *     <init pid='INIT'/>
 *     <domain type='lxc' id='CONTROLLER'> ... the live definition ... </domain>
 *   </domstatus>
 *
 * From it liblxccr takes the controller (libvirt_lxc) and init PIDs in the
 * host PID namespace, the console's host pty, and from the definition the
 * interfaces (bridge, MAC, host and guest veth names), the memory limit, the
 * root filesystem, init and its arguments. A save image carries a plain
 * <domain>, which lxcCRDomainParseString() reads the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "lxc_cr_internal.h"

/* A status file is a few KiB; refuse what cannot be one before parsing it. */
#define LXC_CR_STATUS_MAX_SIZE (16 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject);


char *
lxcCRStatusPath(const char *stateDir,
                const char *name)
{
    return g_strdup_printf("%s/%s.xml", stateDir, name);
}


static void
lxcCRNetClear(lxcCRNet *net)
{
    g_free(net->type);
    g_free(net->bridge);
    g_free(net->network);
    g_free(net->mac);
    g_free(net->hostVeth);
    g_free(net->guestDev);
}


void
lxcCRDomainFree(lxcCRDomain *def)
{
    size_t i;

    if (!def)
        return;
    g_free(def->name);
    g_free(def->uuid);
    g_free(def->init);
    for (i = 0; i < def->ninitargs; i++)
        g_free(def->initargs[i]);
    g_free(def->initargs);
    g_free(def->emulator);
    g_free(def->rootfs);
    for (i = 0; i < def->nnets; i++)
        lxcCRNetClear(&def->nets[i]);
    g_free(def->nets);
    g_free(def->consoleTTY);
    g_free(def->state);
    g_free(def->reason);
    g_free(def);
}


/* The string value of expr relative to node, or NULL when empty or absent. */
static char *
lxcCRXPathString(xmlXPathContextPtr ctxt,
                 xmlNodePtr node,
                 const char *expr)
{
    g_autoptr(xmlXPathObject) obj = NULL;

    ctxt->node = node;
    obj = xmlXPathEval(BAD_CAST expr, ctxt);
    if (!obj || obj->type != XPATH_STRING || !obj->stringval || !obj->stringval[0])
        return NULL;
    return g_strdup((const char *)obj->stringval);
}


/* The nodes expr selects relative to node; returns how many, *nodes is g_free'd by the caller. */
static int
lxcCRXPathNodes(xmlXPathContextPtr ctxt,
                xmlNodePtr node,
                const char *expr,
                xmlNodePtr **nodes)
{
    g_autoptr(xmlXPathObject) obj = NULL;
    int n;

    *nodes = NULL;
    ctxt->node = node;
    obj = xmlXPathEval(BAD_CAST expr, ctxt);
    if (!obj || obj->type != XPATH_NODESET || !obj->nodesetval)
        return 0;
    n = obj->nodesetval->nodeNr;
    if (n > 0)
        *nodes = g_memdup2(obj->nodesetval->nodeTab, sizeof(xmlNodePtr) * n);
    return n;
}


/* A PID attribute: a decimal number in 1..INT_MAX (what a pid_t can hold). */
static int
lxcCRParsePid(const char *str,
              pid_t *pid)
{
    char *end;
    long long v;

    if (!str || !g_ascii_isdigit(str[0]))
        return -1;
    errno = 0;
    v = strtoll(str, &end, 10);
    if (errno || *end || v <= 0 || v > INT_MAX)
        return -1;
    *pid = v;
    return 0;
}


/* Bytes in one libvirt memory unit (as virScaleInteger reads them); 0 if unknown. */
static unsigned long long
lxcCRMemoryUnitScale(const char *unit)
{
    static const char powers[] = "kmgtpe";
    const char *p;
    unsigned long long base;
    unsigned long long scale = 1;

    if (!unit)
        return 1ULL << 10;      /* <memory>'s default unit is KiB */
    if (g_ascii_strcasecmp(unit, "b") == 0 ||
        g_ascii_strcasecmp(unit, "byte") == 0 ||
        g_ascii_strcasecmp(unit, "bytes") == 0)
        return 1;
    if (!unit[0] || !(p = strchr(powers, g_ascii_tolower(unit[0]))))
        return 0;
    if (!unit[1] || g_ascii_strcasecmp(unit + 1, "iB") == 0)
        base = 1024;
    else if (g_ascii_strcasecmp(unit + 1, "B") == 0)
        base = 1000;
    else
        return 0;
    for (; p >= powers; p--)
        scale *= base;
    return scale;
}


static int
lxcCRParseMemory(xmlXPathContextPtr ctxt,
                 xmlNodePtr dom,
                 const char *what,
                 unsigned long long *kib)
{
    g_autofree char *value = lxcCRXPathString(ctxt, dom, "string(./memory)");
    g_autofree char *unit = lxcCRXPathString(ctxt, dom, "string(./memory/@unit)");
    unsigned long long scale;
    unsigned long long v;
    char *end;

    if (!value) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': the domain has no <memory>"), what);
        return -1;
    }
    g_strstrip(value);
    errno = 0;
    v = g_ascii_strtoull(value, &end, 10);
    if (errno || end == value || *end) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': <memory> '%s' is not a number"), what, value);
        return -1;
    }
    if (!(scale = lxcCRMemoryUnitScale(unit))) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': unknown <memory> unit '%s'"), what, unit);
        return -1;
    }
    if (v > ULLONG_MAX / scale) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': <memory> '%s %s' is too large"), what, value, unit);
        return -1;
    }
    *kib = (v * scale + 1023) / 1024;
    return 0;
}


static int
lxcCRParseNets(xmlXPathContextPtr ctxt,
                xmlNodePtr dom,
                const char *what,
                lxcCRDomain *def)
{
    g_autofree xmlNodePtr *nodes = NULL;
    int n = lxcCRXPathNodes(ctxt, dom, "./devices/interface", &nodes);
    int i;

    if (n <= 0)
        return 0;
    def->nets = g_new0(lxcCRNet, n);
    for (i = 0; i < n; i++) {
        lxcCRNet *net = &def->nets[def->nnets++];

        net->type = lxcCRXPathString(ctxt, nodes[i], "string(./@type)");
        net->bridge = lxcCRXPathString(ctxt, nodes[i], "string(./source/@bridge)");
        /* a network's bridge: in the status file's <actual> */
        if (!net->bridge)
            net->bridge = lxcCRXPathString(ctxt, nodes[i], "string(./actual/source/@bridge)");
        net->network = lxcCRXPathString(ctxt, nodes[i], "string(./source/@network)");
        net->mac = lxcCRXPathString(ctxt, nodes[i], "string(./mac/@address)");
        net->hostVeth = lxcCRXPathString(ctxt, nodes[i], "string(./target/@dev)");
        net->guestDev = lxcCRXPathString(ctxt, nodes[i], "string(./guest/@dev)");
        if (!net->type) {
            lxcCRReportError(LXC_CR_ERR_XML,
                             _("'%s': interface %d has no type"), what, i);
            return -1;
        }
        if (STREQ(net->type, "bridge") && !net->bridge) {
            lxcCRReportError(LXC_CR_ERR_XML,
                             _("'%s': bridge interface %d has no <source bridge=...>"),
                             what, i);
            return -1;
        }
    }
    return 0;
}


/* Fill def from the <domain> element dom; what names the document in errors. */
static int
lxcCRParseDomainNode(xmlXPathContextPtr ctxt,
                     xmlNodePtr dom,
                     const char *what,
                     lxcCRDomain *def)
{
    g_autofree char *type = lxcCRXPathString(ctxt, dom, "string(./@type)");
    g_autofree xmlNodePtr *args = NULL;
    int nargs;
    int i;

    if (!type || !STREQ(type, "lxc")) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': domain type is '%s', expected 'lxc'"),
                         what, type ? type : "");
        return -1;
    }
    if (!(def->name = lxcCRXPathString(ctxt, dom, "string(./name)"))) {
        lxcCRReportError(LXC_CR_ERR_XML, _("'%s': the domain has no <name>"), what);
        return -1;
    }
    def->uuid = lxcCRXPathString(ctxt, dom, "string(./uuid)");
    if (lxcCRParseMemory(ctxt, dom, what, &def->memoryKiB) < 0)
        return -1;

    def->init = lxcCRXPathString(ctxt, dom, "string(./os/init)");
    nargs = lxcCRXPathNodes(ctxt, dom, "./os/initarg", &args);
    if (nargs > 0) {
        def->initargs = g_new0(char *, nargs);
        for (i = 0; i < nargs; i++) {
            xmlChar *arg = xmlNodeGetContent(args[i]);

            def->initargs[def->ninitargs++] = g_strdup(arg ? (const char *)arg : "");
            xmlFree(arg);
        }
    }
    def->emulator = lxcCRXPathString(ctxt, dom, "string(./devices/emulator)");
    /* libvirt's rule (virDomainGetFilesystemForTarget): the root is the
     * filesystem whose target is "/"; a mount-type one has a source dir. */
    def->rootfs = lxcCRXPathString(ctxt, dom,
                                   "string(./devices/filesystem[target/@dir='/']"
                                   "[not(@type) or @type='mount']/source/@dir)");
    def->consoleTTY = lxcCRXPathString(ctxt, dom,
                                       "string(./devices/console[@type='pty'][1]/@tty)");
    if (lxcCRParseNets(ctxt, dom, what, def) < 0)
        return -1;
    {
        g_autofree xmlNodePtr *hostdevs = NULL;
        int n = lxcCRXPathNodes(ctxt, dom, "./devices/hostdev", &hostdevs);

        def->nhostdevs = n > 0 ? n : 0;
    }
    return 0;
}


/* Parse xml (length len) as what; errors name what. */
static xmlDocPtr
lxcCRReadXML(const char *xml,
             size_t len,
             const char *what)
{
    xmlDocPtr doc;
    const xmlError *err;

    if (len > INT_MAX) {
        lxcCRReportError(LXC_CR_ERR_XML, _("'%s': document too large"), what);
        return NULL;
    }
    xmlResetLastError();
    /* No network, no external entities, no DTD loading: these files come
     * from the state dir and from save images, and are data only. */
    doc = xmlReadMemory(xml, len, what, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        err = xmlGetLastError();
        lxcCRReportError(LXC_CR_ERR_XML, _("cannot parse '%s': line %d: %s"), what,
                         err ? err->line : 0,
                         err && err->message ? g_strstrip(err->message) : _("not XML"));
        return NULL;
    }
    return doc;
}


lxcCRDomain *
lxcCRStatusParseString(const char *xml,
                       const char *path)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    g_autofree char *pid = NULL;
    g_autofree char *initPid = NULL;
    g_autofree xmlNodePtr *doms = NULL;
    xmlNodePtr root;

    if (!(doc = lxcCRReadXML(xml, strlen(xml), path)))
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!root || !STREQ((const char *)root->name, "domstatus")) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': root element is <%s>, expected <domstatus>"),
                         path, root ? (const char *)root->name : "");
        return NULL;
    }
    if (!(ctxt = xmlXPathNewContext(doc))) {
        lxcCRReportError(LXC_CR_ERR_INTERNAL, _("'%s': cannot create an XPath context"), path);
        return NULL;
    }
    if (lxcCRXPathNodes(ctxt, root, "./domain", &doms) != 1) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': expected one <domain> in <domstatus>"), path);
        return NULL;
    }

    def = g_new0(lxcCRDomain, 1);
    if (lxcCRParseDomainNode(ctxt, doms[0], path, def) < 0)
        return NULL;

    def->state = lxcCRXPathString(ctxt, root, "string(./@state)");
    def->reason = lxcCRXPathString(ctxt, root, "string(./@reason)");
    if (!def->state) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': <domstatus> has no state"), path);
        return NULL;
    }
    pid = lxcCRXPathString(ctxt, root, "string(./@pid)");
    if (lxcCRParsePid(pid, &def->controllerPid) < 0) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': controller pid '%s' is not a valid PID"),
                         path, pid ? pid : "");
        return NULL;
    }
    /* libvirt writes <init> once the controller reported it; optional here,
     * the save checks it. */
    initPid = lxcCRXPathString(ctxt, root, "string(./init/@pid)");
    if (initPid && lxcCRParsePid(initPid, &def->initPid) < 0) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': init pid '%s' is not a valid PID"),
                         path, initPid);
        return NULL;
    }
    return g_steal_pointer(&def);
}


/* Read the whole regular file at path (at most max bytes) as a string. */
static char *
lxcCRReadStatusFile(const char *path,
                    size_t max)
{
    g_autofree char *buf = NULL;
    struct stat sb;
    size_t len = 0;
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        lxcCRReportSystemError(errno, _("cannot read status file '%s'"), path);
        return NULL;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        int err = S_ISDIR(sb.st_mode) ? EISDIR : errno ? errno : EINVAL;

        lxcCRReportSystemError(err, _("cannot read status file '%s'"), path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)sb.st_size > max) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': %llu bytes, more than a status file holds"),
                         path, (unsigned long long)sb.st_size);
        close(fd);
        return NULL;
    }
    buf = g_malloc(max + 1);
    while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            lxcCRReportSystemError(errno, _("cannot read status file '%s'"), path);
            close(fd);
            return NULL;
        }
        len += n;
    }
    close(fd);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': NUL bytes in it; not a status file"), path);
        return NULL;
    }
    return g_steal_pointer(&buf);
}


char *
lxcCRStatusReadFile(const char *path)
{
    return lxcCRReadStatusFile(path, LXC_CR_STATUS_MAX_SIZE);
}


lxcCRDomain *
lxcCRStatusParseFile(const char *path)
{
    g_autofree char *xml = NULL;

    if (!(xml = lxcCRReadStatusFile(path, LXC_CR_STATUS_MAX_SIZE)))
        return NULL;
    return lxcCRStatusParseString(xml, path);
}


lxcCRDomain *
lxcCRDomainParseString(const char *xml,
                       const char *what)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autoptr(lxcCRDomain) def = NULL;
    xmlNodePtr root;

    if (!(doc = lxcCRReadXML(xml, strlen(xml), what)))
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!root || !STREQ((const char *)root->name, "domain")) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("'%s': root element is <%s>, expected <domain>"),
                         what, root ? (const char *)root->name : "");
        return NULL;
    }
    if (!(ctxt = xmlXPathNewContext(doc))) {
        lxcCRReportError(LXC_CR_ERR_INTERNAL, _("'%s': cannot create an XPath context"), what);
        return NULL;
    }
    def = g_new0(lxcCRDomain, 1);
    if (lxcCRParseDomainNode(ctxt, root, what, def) < 0)
        return NULL;
    return g_steal_pointer(&def);
}


/* Parse a status document and return its root and context; errors name path. */
static xmlDocPtr
lxcCRStatusReadDoc(const char *xml,
                   const char *path,
                   xmlNodePtr *domain)
{
    g_autoptr(xmlDoc) doc = NULL;
    xmlNodePtr root;
    xmlNodePtr cur;

    if (!(doc = lxcCRReadXML(xml, strlen(xml), path)))
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!root || !STREQ((const char *)root->name, "domstatus")) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': root element is <%s>, expected <domstatus>"),
                         path, root ? (const char *)root->name : "");
        return NULL;
    }
    for (cur = root->children; cur; cur = cur->next) {
        if (cur->type == XML_ELEMENT_NODE && STREQ((const char *)cur->name, "domain"))
            break;
    }
    if (!cur) {
        lxcCRReportError(LXC_CR_ERR_XML,
                         _("status file '%s': no <domain> in <domstatus>"), path);
        return NULL;
    }
    *domain = cur;
    return g_steal_pointer(&doc);
}


/* The serialized node, or NULL with an error naming what. */
static char *
lxcCRNodeFormat(xmlDocPtr doc,
                xmlNodePtr node,
                const char *what)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *ret = NULL;

    if (buf && xmlNodeDump(buf, doc, node, 0, 0) >= 0)
        ret = g_strdup_printf("%s\n", (const char *)xmlBufferContent(buf));
    else
        lxcCRReportError(LXC_CR_ERR_INTERNAL, _("'%s': cannot format its XML"), what);
    if (buf)
        xmlBufferFree(buf);
    return ret;
}


char *
lxcCRStatusDomainXML(const char *xml,
                     const char *path)
{
    g_autoptr(xmlDoc) doc = NULL;
    xmlNodePtr dom;

    if (!(doc = lxcCRStatusReadDoc(xml, path, &dom)))
        return NULL;
    return lxcCRNodeFormat(doc, dom, path);
}


char *
lxcCRStatusRewrite(const char *xml,
                   const char *path,
                   const char *consoleTTY,
                   const char *reason)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autoptr(xmlXPathObject) obj = NULL;
    xmlNodePtr dom;
    xmlNodePtr root;
    xmlNodePtr cur;

    if (!(doc = lxcCRStatusReadDoc(xml, path, &dom)))
        return NULL;
    root = xmlDocGetRootElement(doc);
    /* the tree runs again (a paused one was thawed for its dump); the driver
     * pauses it when asked */
    if (reason) {
        xmlSetProp(root, BAD_CAST "state", BAD_CAST "running");
        xmlSetProp(root, BAD_CAST "reason", BAD_CAST reason);
    }
    if (consoleTTY) {
        if (!(ctxt = xmlXPathNewContext(doc))) {
            lxcCRReportError(LXC_CR_ERR_INTERNAL, _("'%s': cannot create an XPath context"), path);
            return NULL;
        }
        ctxt->node = dom;
        obj = xmlXPathEval(BAD_CAST "./devices/console[@type='pty'][1]", ctxt);
        if (!obj || obj->type != XPATH_NODESET || !obj->nodesetval ||
            obj->nodesetval->nodeNr != 1) {
            lxcCRReportError(LXC_CR_ERR_XML,
                             _("status file '%s': the domain has no pty console"), path);
            return NULL;
        }
        cur = obj->nodesetval->nodeTab[0];
        xmlSetProp(cur, BAD_CAST "tty", BAD_CAST consoleTTY);
        for (cur = cur->children; cur; cur = cur->next) {
            if (cur->type == XML_ELEMENT_NODE && STREQ((const char *)cur->name, "source"))
                xmlSetProp(cur, BAD_CAST "path", BAD_CAST consoleTTY);
        }
    }
    return lxcCRNodeFormat(doc, root, path);
}



static bool
lxcCRStrEq(const char *a,
           const char *b)
{
    return (!a && !b) || (a && b && STREQ(a, b));
}


int
lxcCRDomainCheckEdit(const lxcCRDomain *saved,
                     const lxcCRDomain *edited,
                     const char *path)
{
    const char *field = NULL;
    const char *was = NULL;
    const char *now = NULL;
    g_autofree char *wasMem = NULL;
    g_autofree char *nowMem = NULL;
    size_t i;

    if (!lxcCRStrEq(saved->name, edited->name)) {
        field = "name"; was = saved->name; now = edited->name;
    } else if (saved->uuid && edited->uuid && !STREQ(saved->uuid, edited->uuid)) {
        field = "uuid"; was = saved->uuid; now = edited->uuid;
    } else if (saved->memoryKiB != edited->memoryKiB) {
        wasMem = g_strdup_printf("%llu KiB", saved->memoryKiB);
        nowMem = g_strdup_printf("%llu KiB", edited->memoryKiB);
        field = "memory"; was = wasMem; now = nowMem;
    } else if (!lxcCRStrEq(saved->init, edited->init)) {
        field = "init"; was = saved->init; now = edited->init;
    } else if (saved->ninitargs != edited->ninitargs) {
        field = "initarg"; was = saved->ninitargs ? saved->initargs[0] : NULL;
        now = edited->ninitargs ? edited->initargs[0] : NULL;
    } else if (!lxcCRStrEq(saved->rootfs, edited->rootfs)) {
        field = "root filesystem"; was = saved->rootfs; now = edited->rootfs;
    } else if (saved->nnets != edited->nnets) {
        wasMem = g_strdup_printf("%zu", saved->nnets);
        nowMem = g_strdup_printf("%zu", edited->nnets);
        field = "number of interfaces"; was = wasMem; now = nowMem;
    }
    for (i = 0; i < saved->ninitargs && !field; i++) {
        if (!lxcCRStrEq(saved->initargs[i], edited->initargs[i])) {
            field = "initarg"; was = saved->initargs[i]; now = edited->initargs[i];
        }
    }
    for (i = 0; i < saved->nnets && !field; i++) {
        if (!lxcCRStrEq(saved->nets[i].mac, edited->nets[i].mac)) {
            field = "interface MAC"; was = saved->nets[i].mac; now = edited->nets[i].mac;
        } else if (!lxcCRStrEq(saved->nets[i].type, edited->nets[i].type)) {
            field = "interface type"; was = saved->nets[i].type; now = edited->nets[i].type;
        }
    }
    if (!field)
        return 0;
    lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                     _("the XML given for domain '%s' (save file '%s') changes its %s from '%s' to '%s'; only an interface's bridge, the description and the title may change"),
                     saved->name, path, field, was ? was : "", now ? now : "");
    return -1;
}


/* The first child element of node called name, or NULL. */
static xmlNodePtr
lxcCRChild(xmlNodePtr node,
           const char *name)
{
    xmlNodePtr cur;

    for (cur = node ? node->children : NULL; cur; cur = cur->next) {
        if (cur->type == XML_ELEMENT_NODE && STREQ((const char *)cur->name, name))
            return cur;
    }
    return NULL;
}


char *
lxcCRStatusApplyEdit(const char *xml,
                     const char *path,
                     const char *editedXml)
{
    static const char *const texts[] = { "title", "description" };
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlDoc) edoc = NULL;
    xmlNodePtr dom;
    xmlNodePtr edom;
    xmlNodePtr name;
    xmlNodePtr dev;
    xmlNodePtr cur;
    size_t i;

    if (!(doc = lxcCRStatusReadDoc(xml, path, &dom)))
        return NULL;
    if (!(edoc = lxcCRReadXML(editedXml, strlen(editedXml), path)))
        return NULL;
    edom = xmlDocGetRootElement(edoc);
    name = lxcCRChild(dom, "name");

    /* the title and the description, as given */
    for (i = 0; i < G_N_ELEMENTS(texts); i++) {
        xmlNodePtr old = lxcCRChild(dom, texts[i]);
        xmlNodePtr given = lxcCRChild(edom, texts[i]);

        if (old) {
            xmlUnlinkNode(old);
            xmlFreeNode(old);
        }
        if (given && name)
            xmlAddNextSibling(name, xmlDocCopyNode(given, doc, 1));
    }

    /* each interface's bridge, the interface found by its MAC */
    if (!(dev = lxcCRChild(dom, "devices")))
        return lxcCRNodeFormat(doc, xmlDocGetRootElement(doc), path);
    for (cur = lxcCRChild(edom, "devices") ? lxcCRChild(edom, "devices")->children : NULL;
         cur; cur = cur->next) {
        g_autofree char *mac = NULL;
        g_autofree char *bridge = NULL;
        xmlNodePtr src;
        xmlNodePtr mine;

        if (cur->type != XML_ELEMENT_NODE || !STREQ((const char *)cur->name, "interface"))
            continue;
        if (!(src = lxcCRChild(cur, "source")) ||
            !(bridge = (char *)xmlGetProp(src, BAD_CAST "bridge")) ||
            !lxcCRChild(cur, "mac") ||
            !(mac = (char *)xmlGetProp(lxcCRChild(cur, "mac"), BAD_CAST "address")))
            continue;
        for (mine = dev->children; mine; mine = mine->next) {
            g_autofree char *myMac = NULL;

            if (mine->type != XML_ELEMENT_NODE || !STREQ((const char *)mine->name, "interface") ||
                !lxcCRChild(mine, "mac") ||
                !(myMac = (char *)xmlGetProp(lxcCRChild(mine, "mac"), BAD_CAST "address")) ||
                g_ascii_strcasecmp(myMac, mac) != 0)
                continue;
            if ((src = lxcCRChild(mine, "source")))
                xmlSetProp(src, BAD_CAST "bridge", BAD_CAST bridge);
        }
    }
    return lxcCRNodeFormat(doc, xmlDocGetRootElement(doc), path);
}
