// The API server's own CEL environment for ValidatingAdmissionPolicy: vmplane's policy expressions compile and evaluate here with the same libraries, types, cost
// model and limits as kube-apiserver, plus vmplane's variables (vmClass, image).
//
// Two environments are built. Expressions compile and run in the one ValidatingAdmissionPolicy
// uses (object and oldObject dynamic), so verdicts and compile decisions are the API server's. A
// second one types object, oldObject, vmClass and image with their CRD schemas, as the API
// server's policy type checker does; it estimates an expression's worst-case cost (from the
// schemas' maxItems and maxLength) and reports type errors the dynamic environment finds only at
// run time.
//
// The engine is one Go program with two front ends: native.go (a process beside the webhook,
// framed calls over stdin and stdout) and wasm.go (WebAssembly, for the offline CLI).
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	// The IANA time zone database inside the program: timestamp(...).getHours('America/New_York')
	// works as in the API server wherever the engine runs (WebAssembly has no zoneinfo files).
	_ "time/tzdata"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"k8s.io/kube-openapi/pkg/validation/spec"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/version"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
	"k8s.io/apiserver/pkg/cel/openapi"
)

type expr struct {
	text    string
	returns []*cel.Type
}

func (e expr) GetExpression() string    { return e.text }
func (e expr) ReturnTypes() []*cel.Type { return e.returns }

// One compiled expression, kept until retain() no longer names it.
type compiled struct {
	prog    cel.Program
	err     map[string]any
	maxCost uint64
	costOK  bool
	warning string
}

var (
	dynCompiler plugincel.Compiler
	// The same environment as dynCompiler's (the API server's for admission policies), to plan
	// programs with the patterns of matches() compiled once, not at every call.
	dyn   *environment.EnvSet
	typed *environment.EnvSet
	roots = map[string]*apiservercel.DeclType{}
	cache = map[string]*compiled{}
)

func reply(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func envType(name string) environment.Type {
	if name == "stored" {
		return environment.StoredExpressions
	}
	return environment.NewExpressions
}

func cacheKey(text, kind, env string) string { return env + "\x00" + kind + "\x00" + text }

var position = regexp.MustCompile(`^ERROR: <input>:(\d+):(\d+): (.*)$`)

// oneLine turns cel-go's issue report (an ERROR line per issue, the source and a caret under it)
// into one line per issue: `message at line L, column C`.
func oneLine(report string) string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if m := position.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			out = append(out, fmt.Sprintf("%s at line %s, column %s", m[3], m[1], m[2]))
		}
	}
	if len(out) == 0 {
		return strings.TrimSpace(report)
	}
	return strings.Join(out, "; ")
}

func compileOne(text, kind, env string) *compiled {
	key := cacheKey(text, kind, env)
	if c, ok := cache[key]; ok {
		return c
	}
	returns := []*cel.Type{cel.BoolType}
	if kind == "string" {
		returns = []*cel.Type{cel.StringType}
	}
	c := &compiled{}
	r := dynCompiler.CompileCELExpression(expr{text, returns}, plugincel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true}, envType(env))
	if r.Error != nil {
		detail := r.Error.Detail
		if strings.HasPrefix(detail, "compilation failed: ") {
			detail = oneLine(strings.TrimPrefix(detail, "compilation failed: "))
		}
		c.err = map[string]any{"error": detail, "type": string(r.Error.Type)}
	} else {
		c.prog = planned(text, env, r.Program)
		estimate(c, text, env)
	}
	cache[key] = c
	return c
}

// planned is the program of an expression the API server's compiler accepted, planned again with
// its regular expression literals compiled once (the meaning is the same; the API server's own
// plan compiles them at every call). Should that fail, the API server's own program is used.
func planned(text, env string, fallback cel.Program) cel.Program {
	e, err := dyn.Env(envType(env))
	if err != nil {
		return fallback
	}
	ast, issues := e.Compile(text)
	if issues != nil {
		return fallback
	}
	prog, err := e.Program(ast,
		cel.InterruptCheckFrequency(celconfig.CheckFrequency),
		cel.OptimizeRegex(interpreter.MatchesRegexOptimization),
	)
	if err != nil {
		return fallback
	}
	return prog
}

// estimate compiles the expression once more with the variables typed by their schemas and
// estimates its worst-case cost there, as the API server does for CRD validation rules.
func estimate(c *compiled, text, env string) {
	if typed == nil {
		c.warning = "no schemas configured: the cost of this expression cannot be estimated"
		return
	}
	e, err := typed.Env(envType(env))
	if err != nil {
		c.warning = err.Error()
		return
	}
	ast, issues := e.Compile(text)
	if issues != nil {
		c.warning = "type check against the schemas: " + oneLine(issues.String())
		return
	}
	est, err := e.EstimateCost(ast, &library.CostEstimator{SizeEstimator: sizes{}})
	if err != nil {
		c.warning = "cost estimation failed: " + err.Error()
		return
	}
	if est.Max >= unbounded {
		c.warning = "the cost of this expression cannot be bounded from the schemas (it reaches values of unknown size); it runs within the runtime cost and time budgets"
		return
	}
	c.maxCost, c.costOK = est.Max, true
}

// An estimate this large comes from a size the estimator knows nothing of (the maximum integer,
// scaled), not from the schemas' bounds.
const unbounded = uint64(1) << 60

// sizes bounds the size of a value reached from a typed variable by its schema (maxItems,
// maxLength, or what fits in a request of the API server's maximum size).
type sizes struct{}

func (sizes) EstimateSize(element checker.AstNode) *checker.SizeEstimate {
	path := element.Path()
	if len(path) == 0 {
		return nil
	}
	node, ok := roots[path[0]]
	if !ok || node == nil {
		return nil
	}
	for _, name := range path[1:] {
		switch name {
		case "@items", "@values":
			node = node.ElemType
		case "@keys":
			node = node.KeyType
		default:
			if f, found := node.Fields[name]; found {
				node = f.Type
			} else if node.KeyType != nil {
				// map.key selects a value, as map['key'] does.
				node = node.ElemType
			} else {
				return nil
			}
		}
		if node == nil {
			return nil
		}
	}
	return &checker.SizeEstimate{Min: 0, Max: uint64(node.MaxElements)}
}

func (sizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// check(expression, kind, env): kind "bool" (a validation) or "string" (a message expression);
// env "new" (as the API server compiles a policy being written) or "stored" (one already stored).
// Answers {error, type} or {maxCost} (the worst-case estimate) or {warning} (no estimate).
func check(text, kind, env string) []byte {
	c := compileOne(text, kind, env)
	if c.err != nil {
		return reply(c.err)
	}
	out := map[string]any{}
	if c.costOK {
		out["maxCost"] = capped(c.maxCost)
	}
	if c.warning != "" {
		out["warning"] = c.warning
	}
	return reply(out)
}

func capped(v uint64) float64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return float64(v)
}

// configure(schemasJSON): the OpenAPI v3 schemas of the typed variables, as the API server
// publishes them: {"object": VirtualMachine, "vmClass": VirtualMachineClass, "image": ...}.
func configure(schemasJSON []byte) []byte {
	var schemas map[string]*spec.Schema
	if err := json.Unmarshal(schemasJSON, &schemas); err != nil {
		return reply(map[string]any{"error": "schemas: " + err.Error()})
	}
	requestType := plugincel.BuildRequestType()
	namespaceType := plugincel.BuildNamespaceType()
	decl := func(name string) *apiservercel.DeclType {
		s, ok := schemas[name]
		if !ok || s == nil {
			return nil
		}
		t := openapi.SchemaDeclType(s, true)
		if t == nil {
			return nil
		}
		return t.MaybeAssignTypeName("vmplane_" + name)
	}
	object, class, image := decl("object"), decl("vmClass"), decl("image")
	roots = map[string]*apiservercel.DeclType{
		"object": object, "oldObject": object, "vmClass": class, "image": image,
		"request": requestType, "namespaceObject": namespaceType,
	}
	declTypes := []*apiservercel.DeclType{namespaceType, requestType}
	variable := func(name string, t *apiservercel.DeclType) cel.EnvOption {
		if t == nil {
			return cel.Variable(name, cel.DynType)
		}
		return cel.Variable(name, t.CelType())
	}
	for _, t := range []*apiservercel.DeclType{object, class, image} {
		if t != nil {
			declTypes = append(declTypes, t)
		}
	}
	set, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(
		environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions: []cel.EnvOption{
				variable("object", object), variable("oldObject", object),
				variable("vmClass", class), variable("image", image),
				cel.Variable("namespaceObject", namespaceType.CelType()),
				cel.Variable("request", requestType.CelType()),
				cel.Variable("authorizer", library.AuthorizerType),
				cel.Variable("authorizer.requestResource", library.ResourceCheckType),
			},
			DeclTypes: declTypes,
		},
		environment.StrictCostOpt,
	)
	if err != nil {
		return reply(map[string]any{"error": err.Error()})
	}
	typed = set
	cache = map[string]*compiled{}
	return reply(map[string]any{})
}

// The variables of one evaluation, and the deadline comprehensions check every 100 iterations.
type activation struct {
	vars     map[string]any
	deadline time.Time
	checks   uint
	expired  bool
}

func (a *activation) ResolveName(name string) (any, bool) {
	if name == "#interrupted" {
		a.checks++
		if !a.expired && a.checks%uint(celconfig.CheckFrequency) == 0 && time.Now().After(a.deadline) {
			a.expired = true
		}
		return a.expired, true
	}
	v, ok := a.vars[name]
	return v, ok
}
func (a *activation) Parent() interpreter.Activation { return nil }

type step struct {
	Expression        string `json:"e"`
	MessageExpression string `json:"m,omitempty"`
}

type outcome struct {
	Value       *bool  `json:"v,omitempty"`
	Error       string `json:"err,omitempty"`
	OutOfBudget bool   `json:"budget,omitempty"`
	TimedOut    bool   `json:"timeout,omitempty"`
	Cost        int64  `json:"cost"`
	Message     string `json:"msg,omitempty"`
}

const outOfBudget = "validation failed due to running out of cost budget, no further validation rules will be run"

// run evaluates one program; its cost counts against the policy's budget for the request (an
// expression over its per-call limit stops with an error of its own).
func run(c *compiled, act *activation) (ref.Val, int64, error) {
	out, details, err := c.prog.Eval(act)
	cost := int64(0)
	if details != nil && details.ActualCost() != nil {
		cost = int64(min(*details.ActualCost(), uint64(math.MaxInt64)))
	}
	return out, cost, err
}

// evaluate(inputsJSON, planJSON, budgetMs): the validations of every policy in the plan over one
// set of variables. Each policy has the API server's runtime budget for one request; each
// expression its per-call limit; all of them the time budget, counted from now: a comprehension
// running past it stops, and what was not run yet is not.
func evaluate(inputsJSON, planJSON []byte, budgetMs float64) []byte {
	// The budget counts from here: decoding a large object is part of what it bounds.
	deadline := time.Now().Add(time.Duration(budgetMs * float64(time.Millisecond)))
	budget := fmt.Sprintf("%g ms", budgetMs)
	var inputs map[string]any
	if err := utiljson.Unmarshal(inputsJSON, &inputs); err != nil {
		return reply(map[string]any{"error": "inputs: " + err.Error()})
	}
	var plan [][]step
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		return reply(map[string]any{"error": "plan: " + err.Error()})
	}
	act := &activation{vars: map[string]any{"variables": map[string]any{}}, deadline: deadline}
	for _, k := range []string{"object", "oldObject", "request", "namespaceObject", "vmClass", "image"} {
		act.vars[k] = inputs[k]
	}
	results := make([][]outcome, len(plan))
	for p, steps := range plan {
		remaining := int64(celconfig.RuntimeCELCostBudget)
		results[p] = make([]outcome, len(steps))
		stopped := ""
		for i, s := range steps {
			o := &results[p][i]
			if stopped != "" {
				o.Error, o.OutOfBudget = stopped, true
				continue
			}
			if act.expired || time.Now().After(deadline) {
				act.expired = true
				o.Error, o.TimedOut = "not evaluated: the request's CEL time budget of "+budget+" (vmplane's bound on evaluation cost) had run out", true
				continue
			}
			c := compileOne(s.Expression, "bool", "stored")
			if c.err != nil {
				o.Error = fmt.Sprint(c.err["error"])
				continue
			}
			val, cost, err := run(c, act)
			o.Cost = cost
			remaining -= cost
			switch {
			case act.expired:
				o.Error, o.TimedOut = "evaluation stopped: it exceeded the request's CEL time budget of "+budget+" (vmplane's bound on evaluation cost)", true
				continue
			case remaining < 0:
				stopped = outOfBudget
				o.Error, o.OutOfBudget = stopped, true
				continue
			case err != nil:
				o.Error = err.Error()
				continue
			}
			if val.Type() != types.BoolType {
				o.Error = fmt.Sprintf("expression returned %s, not a bool", val.Type().TypeName())
				continue
			}
			b := val.Value().(bool)
			o.Value = &b
			if b || s.MessageExpression == "" {
				continue
			}
			m := compileOne(s.MessageExpression, "string", "stored")
			if m.err != nil {
				continue
			}
			mv, mcost, merr := run(m, act)
			o.Cost += mcost
			remaining -= mcost
			if remaining < 0 {
				stopped = outOfBudget
				continue
			}
			if merr == nil && mv.Type() == types.StringType {
				o.Message = mv.Value().(string)
			}
		}
	}
	return reply(map[string]any{"results": results})
}

// retain(keysJSON): forgets every compiled expression not named ([[text, kind, env], ...]).
func retain(keysJSON []byte) []byte {
	var keep [][3]string
	if err := json.Unmarshal(keysJSON, &keep); err != nil {
		return reply(map[string]any{"error": err.Error()})
	}
	live := map[string]bool{}
	for _, k := range keep {
		live[cacheKey(k[0], k[1], k[2])] = true
	}
	for k := range cache {
		if !live[k] {
			delete(cache, k)
		}
	}
	return reply(map[string]any{"size": len(cache)})
}

// setup builds the environments every call uses; each front end calls it first.
func setup() {
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	ext, err := envSet.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        []cel.EnvOption{cel.Variable("vmClass", cel.DynType), cel.Variable("image", cel.DynType)},
	})
	if err != nil {
		panic(err)
	}
	dynCompiler = plugincel.NewCompiler(ext)
	requestType, namespaceType := plugincel.BuildRequestType(), plugincel.BuildNamespaceType()
	dyn, err = ext.Extend(
		environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions: []cel.EnvOption{
				cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType),
				cel.Variable("namespaceObject", namespaceType.CelType()),
				cel.Variable("request", requestType.CelType()),
				cel.Variable("authorizer", library.AuthorizerType),
				cel.Variable("authorizer.requestResource", library.ResourceCheckType),
			},
			DeclTypes: []*apiservercel.DeclType{namespaceType, requestType},
		},
		environment.StrictCostOpt,
	)
	if err != nil {
		panic(err)
	}
}

// limits answers what the front ends report: the API server's per-expression cost limit, its
// runtime budget for one policy on one request, and the compatibility version.
func limits() []byte {
	return reply(map[string]any{
		"perCallLimit":         celconfig.PerCallLimit,
		"runtimeBudget":        celconfig.RuntimeCELCostBudget,
		"compatibilityVersion": environment.DefaultCompatibilityVersion().String(),
	})
}
