//go:build !linux && !js

package main

// dieWithParent: elsewhere the process ends when its input closes (see serve).
func dieWithParent() {}
