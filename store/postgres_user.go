package store

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osUser is the unprivileged account the managed server runs as when
// Sentinel runs as root. A nil *osUser means "the current user".
type osUser struct {
	name     string
	uid, gid uint32
}

func serverOwner() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &osUser{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("managed postgres: running as root and no unprivileged user (postgres, nobody) exists to run the server; create one or set DATABASE_URL")
}

func (u *osUser) apply(cmd *exec.Cmd) {
	if u == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	cmd.Dir = "/"
}

func (u *osUser) chown(dir string) error {
	if u == nil {
		return nil
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}

// unreachableBy says why u cannot traverse to dir ("" when it can): every
// existing ancestor must grant it search permission.
func unreachableBy(dir string, u *osUser) string {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			mode := fi.Mode().Perm()
			ok := mode&0o001 != 0 ||
				(st.Uid == u.uid && mode&0o100 != 0) ||
				(st.Gid == u.gid && mode&0o010 != 0)
			if !ok {
				return fmt.Sprintf("%s has mode %v", p, mode)
			}
		}
		if p == "/" || p == "." {
			return ""
		}
	}
}
