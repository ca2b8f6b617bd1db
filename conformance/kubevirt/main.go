// kubevirt-conformance: KubeVirt's own CRDs and VirtualMachine admission, as a command.
//
// Built by vmplane from the Go module proxy on first use (cli/src/controlplane/conformance.ts),
// against the KubeVirt release it checks. Nothing here reimplements KubeVirt: the CRDs come from
// virt-operator's generators and the verdicts from virt-api's VirtualMachine admitter.
//
//	kubevirt-conformance version            the KubeVirt version it was built from
//	kubevirt-conformance crds               the CRDs, as a YAML stream
//	kubevirt-conformance validate FILE...   each VirtualMachine in the files (YAML or JSON), its causes
//	kubevirt-conformance serve              JSON lines on stdin: {"object":{...},"kubevirt":{...}}
//	                                        answered by {"allowed":bool,"causes":[...],"warnings":[...]}
//	kubevirt-conformance webhook --cert F --key F --kubeconfig F [--port N] [--namespace NS]
//	                          [--kubevirt-user NAME]... [--exit-with-stdin]
//	                                        virt-api's validating webhooks over HTTPS on 127.0.0.1
//	                                        (webhook.go); once it answers, prints one line:
//	                                        {"port":N,"webhooks":[...as webhook-configuration]}
//	kubevirt-conformance webhook-configuration
//	                                        the webhooks of virt-api's ValidatingWebhookConfiguration
//	                                        that `webhook` serves, as JSON
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	v1 "kubevirt.io/api/core/v1"

	instancetypeWebhooks "kubevirt.io/kubevirt/pkg/instancetype/webhooks/vm"
	"kubevirt.io/kubevirt/pkg/testutils"
	"kubevirt.io/kubevirt/pkg/virt-api/webhooks/validating-webhook/admitters"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
)

// version is set at build time (-X main.version=...).
var version = "unknown"

type cause struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type verdict struct {
	Allowed  bool     `json:"allowed"`
	Causes   []cause  `json:"causes"`
	Warnings []string `json:"warnings,omitempty"`
	// Error is set when the object could not be checked at all (not JSON, not a VirtualMachine).
	Error string `json:"error,omitempty"`
}

type request struct {
	Object json.RawMessage `json:"object"`
	// KubeVirt is the KubeVirt CR whose configuration applies (feature gates, permitted host
	// devices); a default installation when absent.
	KubeVirt json.RawMessage `json:"kubevirt,omitempty"`
}

func crds() ([]*extv1.CustomResourceDefinition, error) {
	makers := []func() (*extv1.CustomResourceDefinition, error){
		components.NewKubeVirtCrd,
		components.NewVirtualMachineCrd,
		components.NewVirtualMachineInstanceCrd,
		components.NewVirtualMachineInstanceMigrationCrd,
		components.NewReplicaSetCrd,
		components.NewPresetCrd,
		components.NewVirtualMachinePoolCrd,
		components.NewVirtualMachineSnapshotCrd,
		components.NewVirtualMachineSnapshotContentCrd,
		components.NewVirtualMachineRestoreCrd,
		components.NewVirtualMachineExportCrd,
		components.NewVirtualMachineCloneCrd,
		components.NewVirtualMachineInstancetypeCrd,
		components.NewVirtualMachineClusterInstancetypeCrd,
		components.NewVirtualMachinePreferenceCrd,
		components.NewVirtualMachineClusterPreferenceCrd,
		components.NewMigrationPolicyCrd,
	}
	out := make([]*extv1.CustomResourceDefinition, 0, len(makers))
	for _, make := range makers {
		crd, err := make()
		if err != nil {
			return nil, err
		}
		crd.APIVersion = "apiextensions.k8s.io/v1"
		crd.Kind = "CustomResourceDefinition"
		out = append(out, crd)
	}
	return out, nil
}

func printCrds(w io.Writer) error {
	list, err := crds()
	if err != nil {
		return err
	}
	for _, crd := range list {
		b, err := yaml.Marshal(crd)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "---\n%s", b)
	}
	return nil
}

// kubeVirtOf is the KubeVirt CR given, or a default installation's (no feature gates, no
// permitted host devices).
func kubeVirtOf(raw json.RawMessage) (*v1.KubeVirt, error) {
	kv := &v1.KubeVirt{}
	if len(raw) == 0 || string(raw) == "null" {
		return kv, nil
	}
	if err := json.Unmarshal(raw, kv); err != nil {
		return nil, fmt.Errorf("the KubeVirt CR given is not valid: %v", err)
	}
	return kv, nil
}

// validate runs virt-api's VirtualMachine admitter on a dry-run create of the object, as the API
// server's call to KubeVirt's validating webhook would.
func validate(object json.RawMessage, kv *v1.KubeVirt) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{Error: fmt.Sprintf("KubeVirt's admitter failed on this object: %v", r)}
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
	if meta.APIVersion != "kubevirt.io/v1" || meta.Kind != "VirtualMachine" {
		return verdict{Error: fmt.Sprintf("expected a kubevirt.io/v1 VirtualMachine, got %s %s", meta.APIVersion, meta.Kind)}
	}
	config, _, _ := testutils.NewFakeClusterConfigUsingKV(kv.DeepCopy())
	admitter := &admitters.VMsAdmitter{
		ClusterConfig:           config,
		InstancetypeAdmitter:    instancetypeWebhooks.NewAdmitterStub(),
		KubeVirtServiceAccounts: map[string]struct{}{},
	}
	dryRun := true
	review := &admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{
		UID:       "conformance",
		Operation: admissionv1.Create,
		Namespace: meta.Metadata.Namespace,
		DryRun:    &dryRun,
		Resource:  metav1.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "virtualmachines"},
		Object:    runtime.RawExtension{Raw: object},
	}}
	resp := admitter.Admit(context.Background(), review)
	v = verdict{Allowed: resp.Allowed, Causes: []cause{}, Warnings: resp.Warnings}
	if resp.Result != nil {
		if resp.Result.Details != nil {
			for _, c := range resp.Result.Details.Causes {
				v.Causes = append(v.Causes, cause{Type: string(c.Type), Message: c.Message, Field: c.Field})
			}
		}
		if !resp.Allowed && len(v.Causes) == 0 {
			v.Causes = append(v.Causes, cause{Message: resp.Result.Message})
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
		var req request
		var v verdict
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			v = verdict{Error: fmt.Sprintf("not a request: %v", err)}
		} else if kv, err := kubeVirtOf(req.KubeVirt); err != nil {
			v = verdict{Error: err.Error()}
		} else {
			v = validate(req.Object, kv)
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return scanner.Err()
}

func validateFiles(files []string, kvFile string) (int, error) {
	kv := &v1.KubeVirt{}
	if kvFile != "" {
		b, err := os.ReadFile(kvFile)
		if err != nil {
			return 2, err
		}
		if err := yaml.Unmarshal(b, kv); err != nil {
			return 2, fmt.Errorf("%s: %v", kvFile, err)
		}
	}
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
			if obj == nil || obj["kind"] != "VirtualMachine" || obj["apiVersion"] != "kubevirt.io/v1" {
				continue
			}
			raw, _ := json.Marshal(obj)
			name := fmt.Sprint(obj["metadata"].(map[string]interface{})["name"])
			v := validate(raw, kv)
			switch {
			case v.Error != "":
				refused++
				fmt.Printf("%s: VirtualMachine %s: error: %s\n", f, name, v.Error)
			case !v.Allowed:
				refused++
				fmt.Printf("%s: VirtualMachine %s: refused by KubeVirt v%s\n", f, name, version)
				for _, c := range v.Causes {
					fmt.Printf("  %s: %s\n", c.Field, c.Message)
				}
			default:
				fmt.Printf("%s: VirtualMachine %s: accepted by KubeVirt v%s\n", f, name, version)
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
	usage := "usage: kubevirt-conformance version | crds | validate [--kubevirt KUBEVIRT.yaml] FILE... | serve | webhook --cert F --key F --kubeconfig F [--port N] [--namespace NS] [--kubevirt-user NAME]... [--exit-with-stdin] | webhook-configuration"
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
		err = printCrds(os.Stdout)
	case "serve":
		err = serve(os.Stdin, os.Stdout)
	case "webhook":
		err = runWebhook(os.Args[2:])
	case "webhook-configuration":
		err = printWebhookConfiguration(os.Stdout)
	case "validate":
		args := os.Args[2:]
		kvFile := ""
		if len(args) >= 2 && args[0] == "--kubevirt" {
			kvFile, args = args[1], args[2:]
		}
		code, err = validateFiles(args, kvFile)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubevirt-conformance:", err)
		os.Exit(2)
	}
	os.Exit(code)
}
