package triage

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateTemplates = flag.Bool("update-templates", false, "regenerate the labelled template corpus under testdata/templates")

// templateSystems is the labelled corpus's source: for each system, its
// message templates, each an id and a text whose {slots} are filled with
// generated values. Several systems so that no rule can be tuned to one.
var templateSystems = []struct {
	name      string
	templates []string
}{
	{"dfs", []string{
		"{ts} INFO dfs.DataNode$DataXceiver: Receiving block {blk} src: /{ip}:{port} dest: /{ip}:{port}",
		"{ts} INFO dfs.DataNode$PacketResponder: PacketResponder {small} for block {blk} terminating",
		"{ts} INFO dfs.DataNode$PacketResponder: Received block {blk} of size {size} from /{ip}",
		"{ts} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:{port} is added to {blk} size {size}",
		"{ts} INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: /user/{user}/rand/_temporary/_task_{task}/part-{part}. {blk}",
		"{ts} INFO dfs.DataNode$DataTransfer: {ip}:{port}:Transmitted block {blk} to /{ip}:{port}",
		"{ts} WARN dfs.DataNode$DataXceiver: {ip}:{port}:Got exception while serving {blk} to /{ip}:",
		"{ts} INFO dfs.FSDataset: Deleting block {blk} file /mnt/hadoop/dfs/data/current/subdir{small}/{blk}",
		"{ts} INFO dfs.DataBlockScanner: Verification succeeded for {blk}",
		"{ts} INFO dfs.FSNamesystem: BLOCK* ask {ip}:{port} to replicate {blk} to datanode(s) {ip}:{port}",
		"{ts} INFO dfs.FSNamesystem: BLOCK* NameSystem.delete: {blk} is added to invalidSet of {ip}:{port}",
	}},
	{"scheduler", []string{
		"{ts} I scheduler.go:{line}] \"Successfully bound pod to node\" pod=\"{ns}/{pod}\" node=\"{node}\" evaluatedNodes={small} feasibleNodes={small}",
		"{ts} E scheduler.go:{line}] \"Unable to schedule pod; no fit\" pod=\"{ns}/{pod}\" err=\"0/{small} nodes are available: {small} Insufficient cpu.\"",
		"{ts} I controller.go:{line}] Job {ns}/{job} created pod {pod}",
		"{ts} I controller.go:{line}] Job {ns}/{job} completed in {dur}",
		"{ts} W controller.go:{line}] Job {ns}/{job} failed: BackoffLimitExceeded after {small} retries",
		"{ts} I queue.go:{line}] Queued job {jobid} for user {user} on partition {partition} with {small} tasks",
		"{ts} I queue.go:{line}] Preempting job {jobid} (priority {small}) in favour of job {jobid}",
		"{ts} I node_lifecycle.go:{line}] Node {node} is now Ready",
		"{ts} W node_lifecycle.go:{line}] Node {node} status is now: NodeNotReady, last heartbeat {ts2}",
		"{ts} I allocator.go:{line}] Allocated {small} GPUs to job {jobid} on host {host}",
	}},
	{"sshd", []string{
		"{sysdate} {shost} sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{b64}",
		"{sysdate} {shost} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
		"{sysdate} {shost} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2",
		"{sysdate} {shost} sshd[{pid}]: Invalid user {user} from {ip}",
		"{sysdate} {shost} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user} by (uid={small})",
		"{sysdate} {shost} sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}",
		"{sysdate} {shost} sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]",
		"{sysdate} {shost} sshd[{pid}]: Connection closed by {ip} port {port} [preauth]",
		"{sysdate} {shost} sshd[{pid}]: reverse mapping checking getaddrinfo for {fqdn} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!",
		"{sysdate} {shost} sshd[{pid}]: error: maximum authentication attempts exceeded for {user} from {ip} port {port} ssh2 [preauth]",
	}},
	{"web", []string{
		"{ip} - - [{clf}] \"GET /api/v1/orders/{uuid}/items HTTP/1.1\" 200 {size} \"-\" \"{agent}\"",
		"{ip} - - [{clf}] \"POST /api/v1/users/{small}/sessions HTTP/1.1\" 201 {size} \"-\" \"{agent}\"",
		"{ip} - - [{clf}] \"GET /static/{asset} HTTP/2.0\" 304 0 \"https://{fqdn}/\" \"{agent}\"",
		"{ip} - - [{clf}] \"GET /api/v1/orders/{uuid}/items HTTP/1.1\" 404 {size} \"-\" \"{agent}\"",
		"{errdate} [error] {pid}#{pid}: *{size} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {fqdn}, request: \"GET /api/v1/orders/{uuid} HTTP/1.1\", upstream: \"http://{ip}:{port}/api/v1/orders/{uuid}\", host: \"{fqdn}\"",
		"{errdate} [error] {pid}#{pid}: *{size} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {fqdn}",
		"{errdate} [warn] {pid}#{pid}: *{size} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{small}/{small}/{hexid} while reading upstream",
		"{errdate} [notice] {pid}#{pid}: signal process started",
	}},
	{"db", []string{
		"{ts} UTC [{pid}] {user}@{dbname} LOG:  duration: {ms} ms  statement: SELECT * FROM {table} WHERE id = {size}",
		"{ts} UTC [{pid}] {user}@{dbname} ERROR:  duplicate key value violates unique constraint \"{table}_pkey\"",
		"{ts} UTC [{pid}] {user}@{dbname} ERROR:  relation \"{table}\" does not exist at character {small}",
		"{ts} UTC [{pid}] {user}@{dbname} FATAL:  password authentication failed for user \"{user}\"",
		"{ts} UTC [{pid}] LOG:  checkpoint complete: wrote {size} buffers ({pct}%); {small} WAL file(s) added, {small} removed, {small} recycled; write={secs} s, sync={secs} s, total={secs} s",
		"{ts} UTC [{pid}] LOG:  automatic vacuum of table \"{dbname}.public.{table}\": index scans: {small}",
		"{ts} UTC [{pid}] {user}@{dbname} LOG:  connection authorized: user={user} database={dbname} application_name={app}",
		"{ts} UTC [{pid}] LOG:  connection received: host={ip} port={port}",
		"{ts} UTC [{pid}] {user}@{dbname} ERROR:  canceling statement due to statement timeout",
		"{ts} UTC [{pid}] {user}@{dbname} DETAIL:  Key (email)=({email}) already exists.",
	}},
	{"k8sevents", []string{
		"{ns} {age} Normal Scheduled pod/{pod} Successfully assigned {ns}/{pod} to {node}",
		"{ns} {age} Normal Pulling pod/{pod} Pulling image \"{image}\"",
		"{ns} {age} Normal Pulled pod/{pod} Successfully pulled image \"{image}\" in {dur} ({dur} including waiting)",
		"{ns} {age} Warning BackOff pod/{pod} Back-off restarting failed container {container} in pod {pod}_{ns}({uuid})",
		"{ns} {age} Warning FailedMount pod/{pod} MountVolume.SetUp failed for volume \"{volume}\" : secret \"{secret}\" not found",
		"{ns} {age} Normal SuccessfulCreate replicaset/{rs} Created pod: {pod}",
		"{ns} {age} Normal ScalingReplicaSet deployment/{deploy} Scaled up replica set {rs} to {small}",
		"{ns} {age} Warning Unhealthy pod/{pod} Readiness probe failed: Get \"http://{ip}:{port}/healthz\": dial tcp {ip}:{port}: connect: connection refused",
		"{ns} {age} Warning OOMKilling node/{node} Memory cgroup out of memory: Killed process {pid} ({proc}) total-vm:{size}kB, anon-rss:{size}kB",
	}},
	{"broker", []string{
		"{ts} [info] <0.{pid}.0> accepting AMQP connection <0.{pid}.0> ({ip}:{port} -> {ip}:5672)",
		"{ts} [info] <0.{pid}.0> connection <0.{pid}.0> ({ip}:{port} -> {ip}:5672): user '{user}' authenticated and granted access to vhost '/'",
		"{ts} [warning] <0.{pid}.0> closing AMQP connection <0.{pid}.0> ({ip}:{port} -> {ip}:5672, vhost: '/', user: '{user}'): client unexpectedly closed TCP connection",
		"{ts} [info] <0.{pid}.0> queue '{queue}' in vhost '/': {size} messages, {small} consumers",
		"{ts} [error] <0.{pid}.0> Channel error on connection <0.{pid}.0> ({ip}:{port} -> {ip}:5672, vhost: '/', user: '{user}'), channel {small}: operation queue.declare caused a channel exception not_found: no queue '{queue}' in vhost '/'",
		"{ts} [info] <0.{pid}.0> Mirrored queue '{queue}' in vhost '/': Adding mirror on node rabbit@{shost}: <{pidtriple}>",
		"{ts} [warning] <0.{pid}.0> memory resource limit alarm set on node rabbit@{shost}.",
	}},
	{"mail", []string{
		"{sysdate} {shost} postfix/smtpd[{pid}]: connect from {fqdn}[{ip}]",
		"{sysdate} {shost} postfix/smtpd[{pid}]: disconnect from {fqdn}[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
		"{sysdate} {shost} postfix/smtpd[{pid}]: {queueid}: client={fqdn}[{ip}], sasl_method=PLAIN, sasl_username={user}@example.com",
		"{sysdate} {shost} postfix/qmgr[{pid}]: {queueid}: from=<{email}>, size={size}, nrcpt=1 (queue active)",
		"{sysdate} {shost} postfix/smtp[{pid}]: {queueid}: to=<{email}>, relay={fqdn}[{ip}]:25, delay={secs}, dsn=2.0.0, status=sent (250 2.0.0 OK {size} {queueid} - gsmtp)",
		"{sysdate} {shost} postfix/smtp[{pid}]: {queueid}: to=<{email}>, relay=none, delay={secs}, dsn=4.4.1, status=deferred (connect to {fqdn}[{ip}]:25: Connection timed out)",
		"{sysdate} {shost} postfix/smtpd[{pid}]: warning: {fqdn}[{ip}]: SASL LOGIN authentication failed: authentication failure",
		"{sysdate} {shost} postfix/cleanup[{pid}]: {queueid}: message-id=<{uuid}@{fqdn}>",
	}},
	{"jvm", []string{
		"{ts} INFO  [{thread}] c.a.o.OrderService - Order {uuid} placed by customer {size} in {ms} ms",
		"{ts} WARN  [{thread}] c.a.o.PaymentClient - Retry {small}/5 for payment {payid} after HTTP 503",
		"{ts} ERROR [{thread}] c.a.o.PaymentClient - Payment {payid} failed: java.net.SocketTimeoutException: Read timed out",
		"{ts} INFO  [{thread}] o.h.e.j.s.SqlExceptionHelper - SQL Error: 0, SQLState: 40001 on table {table}",
		"{ts} INFO  [{thread}] c.z.h.HikariPool - HikariPool-{small} - Pool stats (total={small}, active={small}, idle={small}, waiting={small})",
		"{ts} DEBUG [{thread}] c.a.c.CacheManager - Evicted {size} entries from cache {cache}",
		"{ts} INFO  [{thread}] c.a.w.RequestLogger - {method} /api/v2/{resource}/{size} completed {status2} in {ms} ms",
		"{ts} ERROR [{thread}] c.a.o.OrderService - Order {uuid} rejected: insufficient stock for sku {sku}",
	}},
	{"ci", []string{
		"{gh} --- FAIL: TestCheckout{=test} ({secs}s)",
		"{gh} internal/cart/cart.go:{line}:{small}: undefined: pricing.{=symbol}",
		"{gh} npm ERR! network request to https://registry.npmjs.org/{npmpkg} failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
		"{gh} npm ERR! network request to https://registry.npmjs.org/{npmpkg} failed, reason: connect ETIMEDOUT {ip}:443",
		"{gh} FAILED tests/test_api.py::test_{=pytest} - AssertionError: assert {size} == {small}",
		"{gh} error[E0425]: cannot find value `{=rustid}` in this scope",
		"{gh} Error: Process completed with exit code {=exit}.",
		"{gh} ##[error]The runner has received a shutdown signal. Job {jobid} on runner {runner} was canceled.",
		"{gh} fatal: unable to access 'https://github.com/{org}/{repo}.git/': Could not resolve host: github.com",
		"{gh} Step {small}/{small} : RUN go build -o /out/{repo} ./cmd/{repo}",
		"{gh} write /tmp/{tmpdir}/cache.db: no space left on device",
		"{gh}   {=file}({line},{small}): error TS2304: Cannot find name '{=symbol}'.",
	}},
}

func pick(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

// templateSlots fill a template's {slots}. Values are drawn as a real system
// prints them: ids with separators, hex runs, numbered and generated names,
// host names mixing words and numbers, word-valued users, tables and queues.
var templateSlots = map[string]func(r *rand.Rand) string{
	"ts": func(r *rand.Rand) string {
		return fmt.Sprintf("2026-%02d-%02d %02d:%02d:%02d,%03d", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
	},
	"ts2": func(r *rand.Rand) string {
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	},
	"gh": func(r *rand.Rand) string {
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d.%07dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e7))
	},
	"sysdate": func(r *rand.Rand) string {
		return fmt.Sprintf("%s %2d %02d:%02d:%02d", pick(r, "Jan", "Feb", "Mar", "Dec"), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	},
	"clf": func(r *rand.Rand) string {
		return fmt.Sprintf("%02d/%s/2026:%02d:%02d:%02d +0000", 1+r.IntN(28), pick(r, "Jan", "Feb", "Oct"), r.IntN(24), r.IntN(60), r.IntN(60))
	},
	"errdate": func(r *rand.Rand) string {
		return fmt.Sprintf("2026/%02d/%02d %02d:%02d:%02d", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	},
	"blk":   func(r *rand.Rand) string { return fmt.Sprintf("blk_%s%d", pick(r, "", "-"), r.Int64()) },
	"ip":    func(r *rand.Rand) string { return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256)) },
	"port":  func(r *rand.Rand) string { return fmt.Sprint(1024 + r.IntN(60000)) },
	"small": func(r *rand.Rand) string { return fmt.Sprint(r.IntN(64)) },
	"size":  func(r *rand.Rand) string { return fmt.Sprint(r.IntN(1 << 26)) },
	"pct":   func(r *rand.Rand) string { return fmt.Sprintf("%d.%d", r.IntN(100), r.IntN(10)) },
	"secs":  func(r *rand.Rand) string { return fmt.Sprintf("%d.%03d", r.IntN(30), r.IntN(1000)) },
	"ms":    func(r *rand.Rand) string { return fmt.Sprintf("%d.%03d", r.IntN(5000), r.IntN(1000)) },
	"pid":   func(r *rand.Rand) string { return fmt.Sprint(100 + r.IntN(40000)) },
	"line":  func(r *rand.Rand) string { return fmt.Sprint(1 + r.IntN(900)) },
	"exit":  func(r *rand.Rand) string { return pick(r, "1", "2", "137", "143") },
	"task": func(r *rand.Rand) string {
		return fmt.Sprintf("%d%02d%02d%02d%02d_%04d_m_%06d_%d", 2026, 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(10000), r.IntN(100000), r.IntN(4))
	},
	"part": func(r *rand.Rand) string { return fmt.Sprintf("%05d", r.IntN(2000)) },
	"user": func(r *rand.Rand) string {
		return pick(r, "root", "admin", "alice", "bob", "deploy", "postgres", "oracle", "git", "test", "ubuntu", "jenkins", "svc_backup")
	},
	"ns": func(r *rand.Rand) string {
		return pick(r, "default", "payments", "kube-system", "monitoring", "team-a", "ci")
	},
	"pod": func(r *rand.Rand) string { return podName(r) },
	"rs": func(r *rand.Rand) string {
		return pick(r, "web", "api", "checkout", "redis-cache") + "-" + alnum(r, 9+r.IntN(2), "bcdfghjklmnpqrstvwxz2456789")
	},
	"job": func(r *rand.Rand) string {
		return pick(r, "backup", "report-nightly", "migrate") + "-" + fmt.Sprint(28000000+r.IntN(999999))
	},
	"jobid": func(r *rand.Rand) string { return fmt.Sprint(1000000 + r.IntN(9000000)) },
	"deploy": func(r *rand.Rand) string {
		return pick(r, "web", "api", "checkout", "redis-cache")
	},
	"node": func(r *rand.Rand) string {
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", r.IntN(256), r.IntN(256), r.IntN(256))
		case 1:
			return fmt.Sprintf("gke-prod-pool-%d-%s", 1+r.IntN(3), alnum(r, 8, "0123456789abcdef")) + "-" + alnum(r, 4, "abcdefghijklmnopqrstuvwxyz0123456789")
		default:
			return fmt.Sprintf("worker%02d", r.IntN(40))
		}
	},
	"host": func(r *rand.Rand) string {
		return fmt.Sprintf("%s-%d-%d", pick(r, "compute", "gpu", "bigmem"), r.IntN(20), r.IntN(40))
	},
	"shost": func(r *rand.Rand) string { return pick(r, "web01", "web02", "db-3", "bastion7", "node12a") },
	"fqdn": func(r *rand.Rand) string {
		return pick(r, fmt.Sprintf("host-%d-%d.dynamic.isp.net", r.IntN(256), r.IntN(256)), fmt.Sprintf("app%d.prod.example.com", r.IntN(30)), fmt.Sprintf("%d.%d.static.example.org", r.IntN(256), r.IntN(256)))
	},
	"partition": func(r *rand.Rand) string { return pick(r, "batch", "gpu", "debug", "long") },
	"dur":       func(r *rand.Rand) string { return fmt.Sprintf("%d.%03ds", r.IntN(120), r.IntN(1000)) },
	"b64": func(r *rand.Rand) string {
		return alnum(r, 43, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	},
	"uuid": func(r *rand.Rand) string {
		return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), 0x8000|r.IntN(1<<14), r.Uint64()&(1<<48-1))
	},
	"hexid": func(r *rand.Rand) string { return fmt.Sprintf("%010d", r.IntN(1e9)) },
	"agent": func(r *rand.Rand) string {
		return pick(r, "curl/8.5.0", "Mozilla/5.0", "python-requests/2.31.0", "Go-http-client/1.1")
	},
	"asset": func(r *rand.Rand) string {
		return pick(r, "app", "vendor", "main") + "." + alnum(r, 8, "0123456789abcdef") + pick(r, ".js", ".css")
	},
	"dbname": func(r *rand.Rand) string { return pick(r, "shop", "analytics", "auth", "billing") },
	"table": func(r *rand.Rand) string {
		return pick(r, "orders", "users", "line_items", "payments", "sessions", "audit_events")
	},
	"app": func(r *rand.Rand) string { return pick(r, "psql", "pgbouncer", "api-server", "worker") },
	"email": func(r *rand.Rand) string {
		return pick(r, "alice", "bob", "carol.smith", "dev+ci") + fmt.Sprint(r.IntN(100)) + "@example.com"
	},
	"age": func(r *rand.Rand) string { return fmt.Sprintf("%d%s", 1+r.IntN(59), pick(r, "s", "m", "h")) },
	"image": func(r *rand.Rand) string {
		return fmt.Sprintf("registry.example.com/%s:v1.%d.%d", pick(r, "web", "api", "worker"), r.IntN(20), r.IntN(10))
	},
	"container": func(r *rand.Rand) string { return pick(r, "app", "sidecar", "migrate", "nginx") },
	"volume": func(r *rand.Rand) string {
		return pick(r, "config", "tls-certs", "kube-api-access-") + alnum(r, 5, "bcdfghjklmnpqrstvwxz2456789")
	},
	"secret": func(r *rand.Rand) string { return pick(r, "db-credentials", "tls", "registry-auth") },
	"proc":   func(r *rand.Rand) string { return pick(r, "java", "node", "python3", "postgres") },
	"queue": func(r *rand.Rand) string {
		return pick(r, "emails", "billing.invoices", "orders", "webhooks", "notifications")
	},
	"pidtriple": func(r *rand.Rand) string { return fmt.Sprintf("%d.%d.0", r.IntN(30000), r.IntN(3000)) },
	"test":      func(r *rand.Rand) string { return pick(r, "", "Empty", "Discount", "Tax") },
	"symbol":    func(r *rand.Rand) string { return pick(r, "Discount", "Total", "Tax", "Rounding") },
	"npmpkg":    func(r *rand.Rand) string { return pick(r, "left-pad", "react", "@babel%2fcore", "lodash") },
	"pytest":    func(r *rand.Rand) string { return pick(r, "create_order", "refund", "login") },
	"rustid":    func(r *rand.Rand) string { return pick(r, "discount", "total", "cfg") },
	"runner": func(r *rand.Rand) string {
		return fmt.Sprintf("GitHub Actions %d", 1+r.IntN(500))
	},
	"queueid": func(r *rand.Rand) string { return alnum(r, 10, "0123456789ABCDEF") },
	"thread": func(r *rand.Rand) string {
		return pick(r, fmt.Sprintf("pool-%d-thread-%d", 1+r.IntN(5), 1+r.IntN(40)), fmt.Sprintf("http-nio-8080-exec-%d", 1+r.IntN(200)), "main", fmt.Sprintf("kafka-consumer-%d", r.IntN(8)))
	},
	"payid": func(r *rand.Rand) string {
		return "pay_" + alnum(r, 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	},
	"cache":    func(r *rand.Rand) string { return pick(r, "products", "sessions", "prices", "tokens") },
	"method":   func(r *rand.Rand) string { return pick(r, "GET", "POST", "PUT") },
	"resource": func(r *rand.Rand) string { return pick(r, "orders", "customers", "carts", "invoices") },
	"status2":  func(r *rand.Rand) string { return pick(r, "200", "201", "204") },
	"sku":      func(r *rand.Rand) string { return fmt.Sprintf("SKU-%05d-%s", r.IntN(99999), pick(r, "XL", "M", "S")) },
	"org":      func(r *rand.Rand) string { return pick(r, "acme", "sentinel-ci", "example") },
	"repo":     func(r *rand.Rand) string { return pick(r, "shop", "api", "infra") },
	"tmpdir":   func(r *rand.Rand) string { return fmt.Sprintf("go-build%d", r.IntN(1e9)) },
	"file":     func(r *rand.Rand) string { return pick(r, "src/cart.ts", "src/api/client.ts", "src/index.ts") },
}

// podName is a Deployment's pod: name, replica-set hash, random suffix.
func podName(r *rand.Rand) string {
	const set = "bcdfghjklmnpqrstvwxz2456789"
	return pick(r, "web", "api", "checkout", "redis-cache") + "-" + alnum(r, 9+r.IntN(2), set) + "-" + alnum(r, 5, set)
}

func alnum(r *rand.Rand, n int, set string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// generateTemplateLines renders n lines of one system: "T<id>\t<line>".
func generateTemplateLines(r *rand.Rand, templates []string, n int) []byte {
	var b bytes.Buffer
	for range n {
		// A skewed template frequency, as in real logs.
		id := min(int(r.ExpFloat64()*float64(len(templates))/3), len(templates)-1)
		tpl := templates[id]
		var line strings.Builder
		label := fmt.Sprintf("T%02d", id+1)
		for {
			i := strings.IndexByte(tpl, '{')
			if i < 0 {
				line.WriteString(tpl)
				break
			}
			j := strings.IndexByte(tpl[i:], '}') + i
			line.WriteString(tpl[:i])
			slot := tpl[i+1 : j]
			// {=slot}: the value names a different cause (a test, a
			// symbol, an exit code), so it belongs to the template.
			identity := strings.HasPrefix(slot, "=")
			gen, ok := templateSlots[strings.TrimPrefix(slot, "=")]
			if !ok {
				panic("no slot " + slot)
			}
			v := gen(r)
			if identity {
				label += ":" + v
			}
			line.WriteString(v)
			tpl = tpl[j+1:]
		}
		fmt.Fprintf(&b, "%s\t%s\n", label, line.String())
	}
	return b.Bytes()
}

// TestGenerateTemplateCorpus rewrites testdata/templates/*.log with
// -update-templates; the seed is fixed, so the files only change when the
// templates or slot generators do.
func TestGenerateTemplateCorpus(t *testing.T) {
	if !*updateTemplates {
		t.Skip("run with -update-templates to regenerate the corpus")
	}
	dir := filepath.Join("testdata", "templates")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, sys := range templateSystems {
		r := rand.New(rand.NewPCG(17, uint64(i)))
		if err := os.WriteFile(filepath.Join(dir, sys.name+".log"), generateTemplateLines(r, sys.templates, 2000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
