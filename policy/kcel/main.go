//go:build js && wasm

// The API server's own CEL environment for ValidatingAdmissionPolicy, compiled to WebAssembly:
// vmplane's policy expressions compile and evaluate here with the same libraries, types, cost
// model and limits as kube-apiserver, plus vmplane's variables (vmClass, image).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"syscall/js"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/version"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

type expr struct {
	text    string
	returns []*cel.Type
}

func (e expr) GetExpression() string    { return e.text }
func (e expr) ReturnTypes() []*cel.Type { return e.returns }

var (
	compiler plugincel.Compiler
	programs = map[int]cel.Program{}
	nextID   = 1
)

type activation map[string]any

func (a activation) ResolveName(name string) (any, bool) {
	v, ok := a[name]
	return v, ok
}

func reply(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// compile(expression, kind): kind "bool" or "string" (a message expression).
func compile(_ js.Value, args []js.Value) any {
	text, kind := args[0].String(), args[1].String()
	returns := []*cel.Type{cel.BoolType}
	if kind == "string" {
		returns = []*cel.Type{cel.StringType}
	}
	envType := environment.NewExpressions
	if len(args) > 2 && args[2].String() == "stored" {
		envType = environment.StoredExpressions
	}
	r := compiler.CompileCELExpression(expr{text, returns}, plugincel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true}, envType)
	if r.Error != nil {
		return reply(map[string]any{"error": r.Error.Error(), "type": string(r.Error.Type)})
	}
	id := nextID
	nextID++
	programs[id] = r.Program
	return reply(map[string]any{"id": id})
}

// evaluate(id, inputsJSON, budget): inputs are the variables (object, oldObject, request, ...).
func evaluate(_ js.Value, args []js.Value) any {
	prog, ok := programs[args[0].Int()]
	if !ok {
		return reply(map[string]any{"error": "no such program"})
	}
	var inputs map[string]any
	if err := utiljson.Unmarshal([]byte(args[1].String()), &inputs); err != nil {
		return reply(map[string]any{"error": "inputs: " + err.Error()})
	}
	budget := int64(args[2].Float())
	act := activation{}
	for _, k := range []string{"object", "oldObject", "request", "namespaceObject", "params", "vmClass", "image"} {
		act[k] = inputs[k]
	}
	act["variables"] = map[string]any{}
	out, details, err := prog.ContextEval(context.Background(), interpreterActivation{act})
	cost := int64(-1)
	if details != nil && details.ActualCost() != nil {
		c := *details.ActualCost()
		if c > math.MaxInt64 {
			cost = math.MaxInt64
		} else {
			cost = int64(c)
		}
	}
	if cost < 0 || cost > budget {
		return reply(map[string]any{"error": "validation failed due to running out of cost budget, no further validation rules will be run", "outOfBudget": true, "cost": cost})
	}
	if err != nil {
		return reply(map[string]any{"error": err.Error(), "cost": cost})
	}
	return reply(map[string]any{"value": native(out), "type": out.Type().TypeName(), "cost": cost})
}

// release(id): forgets a compiled program (its policy changed or went).
func release(_ js.Value, args []js.Value) any {
	delete(programs, args[0].Int())
	return nil
}

func native(v ref.Val) any {
	switch v.Type() {
	case types.BoolType:
		return v.Value()
	case types.StringType:
		return v.Value()
	default:
		return fmt.Sprint(v.Value())
	}
}

func main() {
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	ext, err := envSet.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        []cel.EnvOption{cel.Variable("vmClass", cel.DynType), cel.Variable("image", cel.DynType)},
	})
	if err != nil {
		panic(err)
	}
	compiler = plugincel.NewCompiler(ext)
	api := js.Global().Get("Object").New()
	api.Set("compile", js.FuncOf(compile))
	api.Set("evaluate", js.FuncOf(evaluate))
	api.Set("release", js.FuncOf(release))
	api.Set("perCallLimit", celconfig.PerCallLimit)
	api.Set("runtimeBudget", celconfig.RuntimeCELCostBudget)
	api.Set("compatibilityVersion", environment.DefaultCompatibilityVersion().String())
	js.Global().Set("vmplaneKubernetesCel", api)
	select {}
}

type interpreterActivation struct{ a activation }

func (i interpreterActivation) ResolveName(name string) (any, bool) { return i.a.ResolveName(name) }
func (i interpreterActivation) Parent() interpreter.Activation      { return nil }
