// cdi-conformance: CDI's own CRDs and DataVolume admission, as a command.
//
// Built by vmplane from the Go module proxy on first use (cli/src/controlplane/conformance.ts),
// as a module of its own: CDI pins other Kubernetes libraries than KubeVirt does. The CRDs are
// CDI's operator's; the verdicts come from cdi-apiserver's DataVolume validating webhook.
//
//	cdi-conformance version            the CDI version it was built from
//	cdi-conformance crds               the CRDs, as a YAML stream
//	cdi-conformance validate FILE...   each DataVolume in the files (YAML or JSON), its causes
//	cdi-conformance serve              JSON lines on stdin: {"object":{...}}
//	                                   answered by {"allowed":bool,"causes":[...]}
//	cdi-conformance webhook --cert F --key F --kubeconfig F [--port N] [--exit-with-stdin]
//	                                   cdi-apiserver's DataVolume validation over HTTPS on
//	                                   127.0.0.1 (webhook.go); once it answers, prints one line:
//	                                   {"port":N,"webhooks":[...as webhook-configuration]}
//	cdi-conformance webhook-configuration
//	                                   the webhook cdi-operator registers for it, as JSON
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"

	"kubevirt.io/containerized-data-importer/pkg/apiserver/webhooks"
	cdifake "kubevirt.io/containerized-data-importer/pkg/client/clientset/versioned/fake"
	"kubevirt.io/containerized-data-importer/pkg/operator/resources"
)

// version is set at build time (-X main.version=...).
var version = "unknown"

type cause struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type verdict struct {
	Allowed bool    `json:"allowed"`
	Causes  []cause `json:"causes"`
	Error   string  `json:"error,omitempty"`
}

func printCrds(w io.Writer) {
	names := make([]string, 0, len(resources.CDICRDs))
	for name := range resources.CDICRDs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "---\n%s\n", strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(resources.CDICRDs[name]), "---")))
	}
}

// validate sends a dry-run create of the DataVolume through cdi-apiserver's validating webhook
// handler, with an empty cluster behind it (no claim of that name exists yet).
func validate(object json.RawMessage) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{Error: fmt.Sprintf("CDI's webhook failed on this object: %v", r)}
		}
	}()
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(object, &meta); err != nil {
		return verdict{Error: fmt.Sprintf("not a JSON object: %v", err)}
	}
	if meta.APIVersion != "cdi.kubevirt.io/v1beta1" || meta.Kind != "DataVolume" {
		return verdict{Error: fmt.Sprintf("expected a cdi.kubevirt.io/v1beta1 DataVolume, got %s %s", meta.APIVersion, meta.Kind)}
	}
	handler := webhooks.NewDataVolumeValidatingWebhook(k8sfake.NewSimpleClientset(), cdifake.NewSimpleClientset(), nil, nil)
	dryRun := true
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "conformance",
			Operation: admissionv1.Create,
			Namespace: meta.Metadata.Namespace,
			DryRun:    &dryRun,
			Resource:  metav1.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "datavolumes"},
			Object:    runtime.RawExtension{Raw: object},
		},
	}
	body, _ := json.Marshal(review)
	req := httptest.NewRequest(http.MethodPost, "/datavolume-validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	var answer admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Response == nil {
		return verdict{Error: fmt.Sprintf("CDI's webhook answered HTTP %d: %s", rec.Code, rec.Body.String())}
	}
	v = verdict{Allowed: answer.Response.Allowed, Causes: []cause{}}
	if r := answer.Response.Result; r != nil {
		if r.Details != nil {
			for _, c := range r.Details.Causes {
				v.Causes = append(v.Causes, cause{Type: string(c.Type), Message: c.Message, Field: c.Field})
			}
		}
		if !v.Allowed && len(v.Causes) == 0 {
			v.Causes = append(v.Causes, cause{Message: r.Message})
		}
	}
	return v
}

func serve(in io.Reader, out io.Writer) error {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(out)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var req struct {
			Object json.RawMessage `json:"object"`
		}
		var v verdict
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			v = verdict{Error: fmt.Sprintf("not a request: %v", err)}
		} else {
			v = validate(req.Object)
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return scanner.Err()
}

func validateFiles(files []string) (int, error) {
	refused := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 2, err
		}
		reader := utilyaml.NewYAMLOrJSONDecoder(fh, 4096)
		for {
			var obj map[string]interface{}
			if err := reader.Decode(&obj); err != nil {
				if err == io.EOF {
					break
				}
				fh.Close()
				return 2, fmt.Errorf("%s: %v", f, err)
			}
			if obj == nil || obj["kind"] != "DataVolume" {
				continue
			}
			raw, _ := json.Marshal(obj)
			name := fmt.Sprint(obj["metadata"].(map[string]interface{})["name"])
			v := validate(raw)
			switch {
			case v.Error != "":
				refused++
				fmt.Printf("%s: DataVolume %s: error: %s\n", f, name, v.Error)
			case !v.Allowed:
				refused++
				fmt.Printf("%s: DataVolume %s: refused by CDI v%s\n", f, name, version)
				for _, c := range v.Causes {
					fmt.Printf("  %s: %s\n", c.Field, c.Message)
				}
			default:
				fmt.Printf("%s: DataVolume %s: accepted by CDI v%s\n", f, name, version)
			}
		}
		fh.Close()
	}
	if refused > 0 {
		return 1, nil
	}
	return 0, nil
}

func main() {
	// The webhook logs each verdict; the verdicts are this command's output.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	usage := "usage: cdi-conformance version | crds | validate FILE... | serve | webhook --cert F --key F --kubeconfig F [--port N] [--exit-with-stdin] | webhook-configuration"
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "version":
		fmt.Println(version)
	case "crds":
		printCrds(os.Stdout)
	case "serve":
		err = serve(os.Stdin, os.Stdout)
	case "webhook":
		err = runWebhook(os.Args[2:])
	case "webhook-configuration":
		err = printWebhookConfiguration(os.Stdout)
	case "validate":
		code, err = validateFiles(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdi-conformance:", err)
		os.Exit(2)
	}
	os.Exit(code)
}
