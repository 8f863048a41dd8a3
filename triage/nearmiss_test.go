package triage

import "testing"

// nearMissPairs are CI failure messages as two runs print them. Apart pairs
// name different causes and must never share a fingerprint; join pairs are
// one cause printed with different ids, paths, hosts or times.
var nearMissPairs = []struct {
	name string
	join bool
	a, b string
}{
	{"different undefined symbol", false,
		"internal/cart/cart.go:42:9: undefined: pricing.Discount",
		"internal/cart/cart.go:42:9: undefined: pricing.Total"},
	{"different assertion", false,
		"E   AssertionError: assert 'paid' == 'pending'",
		"E   AssertionError: assert 'paid' == 'refunded'"},
	{"ENOTFOUND vs ETIMEDOUT", false,
		"npm ERR! request to https://registry.npmjs.org/react failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
		"npm ERR! request to https://registry.npmjs.org/react failed, reason: getaddrinfo ETIMEDOUT registry.npmjs.org"},
	{"different failing test", false,
		"--- FAIL: TestCheckoutDiscount (0.01s)",
		"--- FAIL: TestCheckoutTax (0.01s)"},
	{"different exit code", false,
		"Error: Process completed with exit code 137.",
		"Error: Process completed with exit code 1."},
	{"different rust error code", false,
		"error[E0425]: cannot find value `total` in this scope",
		"error[E0412]: cannot find value `total` in this scope"},
	{"different missing module", false,
		"ModuleNotFoundError: No module named 'requests'",
		"ModuleNotFoundError: No module named 'yaml'"},
	{"different HTTP status", false,
		"npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-pad",
		"npm ERR! 403 Forbidden - GET https://registry.npmjs.org/left-pad"},
	{"different file", false,
		"src/cart.ts(12,5): error TS2304: Cannot find name 'Discount'.",
		"src/order.ts(12,5): error TS2304: Cannot find name 'Discount'."},
	{"different Go package", false,
		"FAIL\tgithub.com/acme/shop/internal/cart [build failed]",
		"FAIL\tgithub.com/acme/shop/internal/order [build failed]"},

	{"same timeout, other host and port", true,
		"dial tcp 10.0.3.17:5432: i/o timeout",
		"dial tcp 10.0.9.201:5432: i/o timeout"},
	{"same DNS failure, other pod", true,
		"Get \"http://api-7d9f8b6c4-x2kqz:8080/healthz\": dial tcp: lookup api-7d9f8b6c4-x2kqz on 10.96.0.10:53: no such host",
		"Get \"http://api-5c6b7f9d8-q7wrt:8080/healthz\": dial tcp: lookup api-5c6b7f9d8-q7wrt on 10.96.0.10:53: no such host"},
	{"same disk full, other temp dir", true,
		"write /tmp/go-build2349871/b001/exe/a.out: no space left on device",
		"write /tmp/go-build9912/b044/exe/a.out: no space left on device"},
	{"same cancelled job, other runner", true,
		"##[error]The runner has received a shutdown signal. Job 8841 on runner ip-10-1-2-3.ec2.internal was canceled.",
		"##[error]The runner has received a shutdown signal. Job 9102 on runner ip-10-7-21-9.ec2.internal was canceled."},
	{"same OOM, other container id", true,
		"container 3f2a9c1e7b44 was OOM killed (memory limit 2147483648 bytes)",
		"container 91bd03aa5e10 was OOM killed (memory limit 2147483648 bytes)"},
	{"same checkout failure, other build number", true,
		"fatal: could not read from remote repository: build-4512_attempt-2 aborted",
		"fatal: could not read from remote repository: build-4519_attempt-1 aborted"},
	{"same missing artifact, other UUID in path", true,
		"artifact not found: /api/v1/artifacts/3f2504e0-4f89-11d3-9a0c-0305e82c3301/logs.zip",
		"artifact not found: /api/v1/artifacts/9b2c41aa-0000-4000-8000-00000000beef/logs.zip"},
	{"same flaky connection, other quoted id", true,
		"error: job \"job_20260105_0412\" lost connection to worker node-17",
		"error: job \"job_20260107_1733\" lost connection to worker node-4"},
}

// TestNearMissFingerprints checks each pair's per-line fingerprints and
// reports the totals kept apart and joined.
func TestNearMissFingerprints(t *testing.T) {
	t.Parallel()
	apart, apartOK, join, joinOK := 0, 0, 0, 0
	for _, p := range nearMissPairs {
		na, nb := Normalize(p.a), Normalize(p.b)
		same := Fingerprint(CategoryUnknown, na, "") == Fingerprint(CategoryUnknown, nb, "")
		if p.join {
			join++
			if same {
				joinOK++
			} else {
				t.Errorf("%s: not joined:\n  %q\n  %q", p.name, na, nb)
			}
		} else {
			apart++
			if !same {
				apartOK++
			} else {
				t.Errorf("%s: joined:\n  %q\n  %q", p.name, na, nb)
			}
		}
	}
	t.Logf("near misses kept apart %d/%d, same causes joined %d/%d", apartOK, apart, joinOK, join)
}
