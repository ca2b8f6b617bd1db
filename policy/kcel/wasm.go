//go:build js && wasm

// The WebAssembly front end: the engine's calls as functions on globalThis.vmplaneKubernetesCel,
// each answering JSON (policy/src/kcel.ts loads it).
package main

import (
	"syscall/js"

	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

func main() {
	setup()
	api := js.Global().Get("Object").New()
	api.Set("configure", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return string(configure([]byte(a[0].String())))
	}))
	api.Set("check", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return string(check(a[0].String(), a[1].String(), a[2].String()))
	}))
	api.Set("evaluate", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return string(evaluate([]byte(a[0].String()), []byte(a[1].String()), a[2].Float()))
	}))
	api.Set("retain", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return string(retain([]byte(a[0].String())))
	}))
	api.Set("perCallLimit", celconfig.PerCallLimit)
	api.Set("runtimeBudget", celconfig.RuntimeCELCostBudget)
	api.Set("compatibilityVersion", environment.DefaultCompatibilityVersion().String())
	js.Global().Set("vmplaneKubernetesCel", api)
	select {}
}
