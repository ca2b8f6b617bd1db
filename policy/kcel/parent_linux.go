//go:build linux

package main

import (
	"os"
	"syscall"
)

// dieWithParent asks the kernel to kill this process when the process that started it ends (even
// by SIGKILL, when closing stdin is not enough: an evaluation may be running).
func dieWithParent() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	// The parent may have gone before the request took effect.
	if os.Getppid() == 1 {
		os.Exit(1)
	}
}
