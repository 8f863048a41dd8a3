package runner

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Images built locally, without a registry, from a tar context: for the
// runner's tests, the end-to-end tests, and the demo on a machine that cannot
// pull (it rewrites the samples' busybox and golang images to these).
const (
	LocalImageBusybox = "sentinel-test/busybox:1"
)

// LocalImageGo is the busybox image plus this machine's Go toolchain, with
// the standard library compiled into a build cache at the path of the
// repository's go-build cache (CacheRoot/go-build). Docker fills a new, empty
// volume with what the image holds where it is mounted, so each repository's
// first run starts from that warm cache instead of compiling the standard
// library again, a minute of CPU per repository on a loaded machine. (The tag
// changed with that path: a machine keeping the image of the old layout
// builds this one.)
func LocalImageGo() string {
	return "sentinel-test/go:" + strings.TrimPrefix(runtime.Version(), "go") + "-warm-cacheroot"
}

// BusyboxPath is where Debian's busybox-static package installs its binary.
const BusyboxPath = "/bin/busybox"

const busyboxDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /workspace /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
`

// BuildLocalImages builds LocalImageBusybox from a static busybox (Debian's
// busybox-static) and, when goroot is not empty, LocalImageGo with the Go
// toolchain at goroot copied to /usr/local/go. Images already present are kept.
func BuildLocalImages(ctx context.Context, cli *client.Client, goroot string) error {
	return LocalImages{GoRoot: goroot}.Build(ctx, cli)
}

// LocalImages says which local images to build.
type LocalImages struct {
	GoRoot string // the toolchain copied into the Go image; "" builds busybox only
	// Progress, when set, receives what the build is doing: the context
	// sent so far and each build step, as they happen.
	Progress func(string)
}

// Build builds the images that are missing.
//
// `go test ./...` runs the packages' test binaries in parallel, and more than
// one of them builds these images; a lock across processes makes the others
// wait for the first build and then find the images present, rather than
// build the same tags side by side.
func (li LocalImages) Build(ctx context.Context, cli *client.Client) error {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "sentinel-test-images.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("test images lock: %w", err)
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("test images lock: %w", err)
	}
	if err := li.buildIfMissing(ctx, cli, LocalImageBusybox, func(tw *tar.Writer) error {
		if err := addFile(tw, "Dockerfile", []byte(busyboxDockerfile), 0o644); err != nil {
			return err
		}
		bin, err := os.ReadFile(BusyboxPath)
		if err != nil {
			return fmt.Errorf("static busybox (apt-get install -y busybox-static): %w", err)
		}
		return addFile(tw, "busybox", bin, 0o755)
	}); err != nil || li.GoRoot == "" {
		return err
	}
	return li.buildIfMissing(ctx, cli, LocalImageGo(), func(tw *tar.Writer) error {
		dockerfile := "FROM " + LocalImageBusybox + `
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=` + goBuildCache + ` GOPATH=/tmp/gopath GOFLAGS=-mod=mod HOME=/tmp
# A warm build cache: every step is a fresh container, and compiling the
# standard library in each would dominate the tests that use this image.
# It sits where the repository's go-build cache volume is mounted, which a
# new volume starts as a copy of.
RUN go build std && go test -count=1 -run '^$' errors >/dev/null && chmod -R a+rwX /tmp ` + CacheRoot + `
`
		if err := addFile(tw, "Dockerfile", []byte(dockerfile), 0o644); err != nil {
			return err
		}
		return addTree(tw, li.GoRoot, "go")
	})
}

// countingWriter counts the bytes of the build context sent so far.
type countingWriter struct {
	w    io.Writer
	n    int64
	tell func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	// Tell every 16 MiB: enough to see it move, not a line per write.
	if before := c.n; (before+int64(n))>>24 != before>>24 && c.tell != nil {
		c.tell(before + int64(n))
	}
	c.n += int64(n)
	return n, err
}

func (li LocalImages) buildIfMissing(ctx context.Context, cli *client.Client, tag string, fill func(*tar.Writer) error) error {
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect %s: %w", tag, err)
	}
	tell := func(string) {}
	if li.Progress != nil {
		tell = li.Progress
	}
	tell("building image " + tag)
	pr, pw := io.Pipe()
	go func() {
		cw := &countingWriter{w: pw, tell: func(n int64) { tell(fmt.Sprintf("building image %s: sent %d MiB of its context", tag, n>>20)) }}
		tw := tar.NewWriter(cw)
		err := fill(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer res.Body.Close()
	// The body must be read to the end; build errors arrive as messages in it.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("build %s: read output: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build %s: %s", tag, msg.Error)
		}
		if line := strings.TrimSpace(msg.Stream); strings.HasPrefix(line, "Step ") {
			tell("building image " + tag + ": " + line)
		}
	}
}

func addFile(tw *tar.Writer, name string, data []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// addTree adds dir under prefix, leaving out Go's own tests, which a
// toolchain does not need to build and test other code.
func addTree(tw *tar.Writer, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() && (rel == "test" || rel == "doc" || rel == "api" || d.Name() == "testdata") {
			return fs.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
}
