package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FS is the narrow file-system seam every engine file operation goes
// through (style.md §3.7). Production uses OSFS; tests wrap it to inject
// write and fsync failures. Mappings are always read-only: all writes go
// through File so that every write error is visible here.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	MkdirAll(dir string) error
	Rename(oldpath, newpath string) error
	Remove(name string) error
	RemoveAll(name string) error
	ReadDir(dir string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// SyncDir fsyncs a directory so that creates and renames in it survive
	// a power loss (ALICE: fsync the directory after create and rename).
	SyncDir(dir string) error
}

// File is an open file. Positions are always explicit: the engine never
// uses a shared file offset, so readers and the appender never race on it.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	// WritevAt writes all of bufs contiguously at off with vectored
	// writes, looping over short writes.
	WritevAt(bufs [][]byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	// Datasync is fdatasync(2): data plus the metadata needed to read it.
	Datasync() error
	Truncate(size int64) error
	Size() (int64, error)
	Close() error
	// OS returns the underlying *os.File for sendfile and mmap.
	OS() *os.File
}

// OSFS is the real file system.
type OSFS struct{}

var _ FS = OSFS{}

// OpenFile opens a file with os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, fd: int(f.Fd())}, nil
}

// MkdirAll creates dir and its parents.
func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// Rename renames a file or directory.
func (OSFS) Rename(o, n string) error { return os.Rename(o, n) }

// Remove removes a file or empty directory.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll removes a tree.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// ReadDir lists a directory.
func (OSFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

// Stat stats a path.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// SyncDir fsyncs a directory.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type osFile struct {
	f  *os.File
	fd int // cached: os.File.Fd is not free and the fd never changes
}

func (o *osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o *osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o *osFile) Close() error                             { return o.f.Close() }
func (o *osFile) OS() *os.File                             { return o.f }

func (o *osFile) Size() (int64, error) {
	st, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (o *osFile) Datasync() error {
	for {
		err := unix.Fdatasync(o.fd)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "fdatasync", Path: o.f.Name(), Err: err}
		}
		return nil
	}
}

// iovMax is Linux's IOV_MAX.
const iovMax = 1024

func (o *osFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	total := 0
	// Drop empty buffers up front; pwritev would skip them anyway but they
	// complicate the short-write bookkeeping.
	iovs := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		if len(b) > 0 {
			iovs = append(iovs, b)
		}
	}
	for len(iovs) > 0 {
		chunk := iovs
		if len(chunk) > iovMax {
			chunk = chunk[:iovMax]
		}
		n, err := unix.Pwritev(o.fd, chunk, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, &os.PathError{Op: "pwritev", Path: o.f.Name(), Err: err}
		}
		if n == 0 {
			return total, &os.PathError{Op: "pwritev", Path: o.f.Name(), Err: errors.New("wrote 0 bytes")}
		}
		total += n
		off += int64(n)
		// Consume n bytes from the front of iovs.
		for n > 0 {
			if n >= len(iovs[0]) {
				n -= len(iovs[0])
				iovs = iovs[1:]
				continue
			}
			iovs[0] = iovs[0][n:]
			n = 0
		}
	}
	return total, nil
}

// lockDir takes an exclusive, non-blocking flock on dir/.lock, so two
// brokers can never open the same log dir. The returned file holds the lock
// until closed.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is locked by another process: %v", ErrDirLocked, dir, err)
	}
	return f, nil
}
